/**
 * The assembler: stitches encoded chunks without re-encoding (concat
 * demuxer, stream copy). Each chunk's span is given explicitly, so every
 * packet lands on its source frame's time; the output is written to a
 * temporary name and renamed when complete.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { ErrorCodes, VpipeError } from '../../../runtime/core/mod.js';
import { assertToolRan, inputArgs, runTool, type ToolRunner } from '../../../runtime/media/mod.js';
import type { AudioRecipe, Container } from '../../../schemas/ves.js';
import { clearVideoDisplayMatrix } from './mp4-matrix.js';

export interface AssembleInput {
  /** In order; `startSeconds` is the file's first presentation time when known (becomes its `inpoint`). */
  chunks: { path: string; durationSeconds: number; startSeconds?: number; durationMicros?: number }[];
  outPath: string;
  container: Container;
  /** Muxer (h264, hevc, ivf) and Annex B bitstream filter for container 'raw'. */
  raw: { format: string; bitstreamFilter?: string };
  /** The video sample-entry tag for container 'mp4' (encoders' mp4Tag: hvc1 for HEVC). */
  mp4Tag?: string;
  /** Take the audio of this source (recipe audio.mode 'copy', 'aac' or 'pcm'). */
  audioFrom?: string;
  /** How (default: copy every audio stream). */
  audio?: AudioRecipe;
  /** The source's first video frame time: the output's video starts at 0, so the audio moves back by this much to stay in sync. */
  audioOffsetSeconds?: number;
  /** Seconds of media, for the time limit. */
  mediaSeconds?: number;
  /** The chunks' pictures were turned for the source's display matrix (see mp4-matrix.ts). */
  turned?: boolean;
  workDir: string;
  signal?: AbortSignal;
}

/** The ffconcat list: absolute paths we made ourselves (no quotes possible), each with its exact span. */
export function concatList(chunks: AssembleInput['chunks']): string {
  const lines = ['ffconcat version 1.0'];
  for (const c of chunks) {
    if (c.path.includes("'") || c.path.includes('\n')) throw new VpipeError(ErrorCodes.Internal, `unexpected chunk path ${c.path}`);
    lines.push(`file '${c.path}'`);
    // The in point is where the file's timeline starts: without it the demuxer uses the file's start time,
    // and where the demuxer cannot tell that (x264 ultrafast in Matroska) it takes 0, shifting the chunk by a frame.
    // MP4 chunk files start at 0 by construction (no in point needed); older Matroska ones carry it.
    if (c.startSeconds !== undefined && c.durationMicros === undefined) lines.push(`inpoint ${c.startSeconds.toFixed(6)}`);
    lines.push(`duration ${c.durationMicros !== undefined ? microsText(c.durationMicros) : c.durationSeconds.toFixed(6)}`);
  }
  return `${lines.join('\n')}\n`;
}

/** Whole microseconds as the seconds text the concat demuxer parses back to exactly that count. */
function microsText(us: number): string {
  if (!Number.isSafeInteger(us) || us < 0) throw new VpipeError(ErrorCodes.Internal, `bad chunk span ${us} µs`);
  return `${Math.floor(us / 1_000_000)}.${String(us % 1_000_000).padStart(6, '0')}`;
}

const MUXER: Record<Exclude<Container, 'raw'>, string[]> = {
  mp4: ['-movflags', '+faststart', '-f', 'mp4'],
  mov: ['-movflags', '+faststart', '-f', 'mov'],
  mkv: ['-f', 'matroska'],
};

/**
 * The audio output arguments: every stream copied, or the first one as AAC-LC / PCM at 48 kHz
 * (stereo by default; ffmpeg's default downmix for more channels).
 */
export function audioArgs(audio: AudioRecipe | undefined): string[] {
  if (!audio || audio.mode === 'copy' || audio.mode === 'none') return ['-map', '1:a?', '-c:a', 'copy'];
  const layout = ['-ac', String(audio.channels ?? 2), '-ar', '48000'];
  if (audio.mode === 'aac') return ['-map', '1:a:0?', '-c:a', 'aac', '-b:a', `${audio.bitrateKbps ?? 192}k`, ...layout];
  return ['-map', '1:a:0?', '-c:a', audio.bitDepth === 16 ? 'pcm_s16le' : 'pcm_s24le', ...layout];
}

/** Assembles; throws TOOL_FAILED (retryable: the chunks are still there) when ffmpeg fails. */
export async function assemble(input: AssembleInput, run: ToolRunner = runTool): Promise<{ bytes: number }> {
  const list = path.join(input.workDir, 'chunks.ffconcat');
  await fs.writeFile(list, concatList(input.chunks));
  const tmp = `${input.outPath}.${process.pid}.part`;
  const offset = input.audioOffsetSeconds ?? 0;
  const audio = input.audioFrom && input.container !== 'raw' ? [...(offset > 0 ? ['-itsoffset', (-offset).toFixed(6)] : []), ...inputArgs(input.audioFrom)] : [];
  const args = [
    '-hide_banner', '-nostdin', '-nostats', '-loglevel', 'error', '-progress', 'pipe:1',
    '-f', 'concat', '-safe', '0', ...inputArgs(list),
    ...audio,
    '-map', '0:v:0', ...(audio.length ? audioArgs(input.audio) : []),
    '-c:v', 'copy',
    ...(input.container === 'mp4' && input.mp4Tag ? ['-tag:v', input.mp4Tag] : []),
    ...(input.container === 'raw' ? [...(input.raw.bitstreamFilter ? ['-bsf:v', input.raw.bitstreamFilter] : []), '-f', input.raw.format] : MUXER[input.container]),
    '-y', tmp,
  ];
  try {
    const r = await run('ffmpeg', args, { signal: input.signal, keepStdout: false, limit: { mediaSeconds: input.mediaSeconds ?? null, kind: 'assemble' } });
    assertToolRan('ffmpeg', r);
    if (r.code !== 0) throw new VpipeError(ErrorCodes.ToolFailed, `assembling failed: ${r.stderr.trim().slice(-400)}`, { retryable: true });
    // The pictures are already turned as the source's display matrix said; the copied matrix must not turn them again.
    if (input.container === 'mp4' && input.turned) await clearVideoDisplayMatrix(tmp);
    await fs.rename(tmp, input.outPath);
    return { bytes: (await fs.stat(input.outPath)).size };
  } finally {
    await fs.rm(tmp, { force: true });
  }
}
