/**
 * How an input is opened: a plain file, or an image sequence named by a
 * printf pattern (`frame%08d.png`). Builds the ffmpeg/ffprobe input
 * arguments for both and checks the media exists before any tool runs.
 */
import { stat } from 'node:fs/promises';
import path from 'node:path';
import { ErrorCodes, VpipeError } from '../../../runtime/core/mod.js';
import { inputArgs } from '../../../runtime/media/mod.js';
import type { InspectInput } from './types.js';

/** `%d` or `%0Nd`: the same test runtime/media-root.ts applies at admission, so both sides agree on what a sequence is. */
const SEQUENCE_PATTERN = /%(0\d{1,2})?d/;
const DEFAULT_SEQUENCE_RATE = { num: 24, den: 1 };
/** image2 looks for the first frame among numbers 0–4 when no start number is given; so do we. */
const START_SEARCH_RANGE = 5;

/** True when the file name (not the directory) holds a frame-number pattern. */
export function isImageSequencePath(p: string): boolean {
  return SEQUENCE_PATTERN.test(path.basename(p));
}

/** The concrete file name for frame `n` of a pattern path. */
export function sequenceFramePath(p: string, n: number): string {
  const name = path.basename(p).replace(SEQUENCE_PATTERN, (_m, width: string | undefined) => String(n).padStart(Number(width ?? '0'), '0'));
  return path.join(path.dirname(p), name);
}

export interface OpenedSource {
  imageSequence: boolean;
  /** Demuxer options plus `-protocol_whitelist file -i file:/abs`, ready to splice before output options. */
  args: string[];
  /** Frame rate the sequence is read at (null for plain files). */
  sequenceRate: { num: number; den: number } | null;
}

const isCount = (n: number): boolean => Number.isSafeInteger(n) && n >= 0;

async function isFile(p: string): Promise<boolean> {
  try {
    return (await stat(p)).isFile();
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return false;
    if (code === 'EACCES' || code === 'EPERM') throw new VpipeError(ErrorCodes.MediaForbidden, `media is not readable: ${code}`, { cause: e });
    throw VpipeError.from(e);
  }
}

/** Resolves the input; throws MEDIA_NOT_FOUND (no file / no first frame), MEDIA_URI_FORBIDDEN (unreadable) or BAD_REQUEST (bad path). */
export async function openSource(input: InspectInput): Promise<OpenedSource> {
  if (!isImageSequencePath(input.path)) {
    const args = inputArgs(input.path); // validates absolute / NUL before touching the disk
    if (!(await isFile(input.path))) throw new VpipeError(ErrorCodes.MediaNotFound, `media not found: ${input.uri}`);
    return { imageSequence: false, args, sequenceRate: null };
  }
  const rate = input.imageSequence?.frameRate ?? DEFAULT_SEQUENCE_RATE;
  // The schema validated these already; re-check because they become argv text.
  const requested = input.imageSequence?.startNumber;
  if (!isCount(rate.num) || rate.num === 0 || !isCount(rate.den) || rate.den === 0 || (requested !== undefined && !isCount(requested))) {
    throw new VpipeError(ErrorCodes.BadRequest, 'image sequence frame rate and start number must be non-negative integers (rate > 0)');
  }
  const inArgs = inputArgs(input.path);
  let start = input.imageSequence?.startNumber ?? null;
  if (start === null) {
    for (let n = 0; n < START_SEARCH_RANGE && start === null; n++) if (await isFile(sequenceFramePath(input.path, n))) start = n;
  } else if (!(await isFile(sequenceFramePath(input.path, start)))) {
    start = null;
  }
  if (start === null) {
    throw new VpipeError(ErrorCodes.MediaNotFound, `image sequence not found: no first frame for ${input.uri}`);
  }
  // pattern_type sequence: never glob, so `*` or `[` in a name stay literal.
  const demux = ['-f', 'image2', '-pattern_type', 'sequence', '-framerate', `${rate.num}/${rate.den}`, '-start_number', String(start)];
  return { imageSequence: true, args: [...demux, ...inArgs], sequenceRate: rate };
}

/**
 * Makes a tool message fit for a result: the server path becomes the caller's
 * URI (results must not leak paths; one pass, so a URI containing the path is
 * not rewritten twice) and `[h264 @ 0x55…]` contexts lose their addresses.
 */
export function scrubPath(message: string, input: Pick<InspectInput, 'path' | 'uri'>): string {
  const escaped = input.path.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  return message.replace(new RegExp(`(?:file:)?${escaped}`, 'g'), input.uri).replace(/ @ 0x[0-9a-f]+\]/g, ']');
}
