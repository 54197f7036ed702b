/**
 * Encodes one chunk: starts decoding at its verified random-access point,
 * takes exactly its frames by count (times kept in the source's time base, so
 * VFR stays VFR), checks each taken picture against the frame index, and
 * writes MP4 to a temporary name that is renamed when complete — a
 * redelivered chunk overwrites the same deterministic path with the same
 * content.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import type { ChunkEncodeSpec, EncoderModule } from '../../../encoders/types.js';
import { ErrorCodes, ToolError, VpipeError } from '../../../runtime/core/mod.js';
import { assertToolRan, inputArgs, runTool, type ToolRunner } from '../../../runtime/media/mod.js';
import type { ChunkPlan } from '../../../schemas/ves.js';
import type { ChunkWorkItem } from '../messages.js';
import { chunkOverlays, removeDirs, type ChunkOverlays } from './overlays.js';

export interface ChunkEncodeInput {
  sourcePath: string;
  chunk: ChunkPlan;
  spec: ChunkEncodeSpec;
  outPath: string;
  signal?: AbortSignal;
  /** The frame index's expectations for this chunk (CRCs, repaired times); absent for old work items. */
  source?: ChunkWorkItem['source'];
  /** Frames done so far, and encode speed (×realtime) when ffmpeg reports it. */
  onProgress?: (framesDone: number, speed: number | null) => void;
}

export interface ChunkEncodeOutput {
  frames: number;
  bytes: number;
  encodeSeconds: number;
  /**
   * Presentation time of the chunk file's first frame, in its own timeline (the
   * seek leaves it a frame or so after zero), or null if it could not be read.
   * The assembler needs it: the concat demuxer aligns a file by its start time,
   * which the Matroska demuxer cannot always tell (x264 ultrafast chunks).
   */
  startSeconds: number | null;
}

/** The first packet's presentation time: a chunk starts with a keyframe, which is also first in display order. Null if unreadable. */
export async function firstFrameTime(file: string, run: ToolRunner = runTool): Promise<number | null> {
  const r = await run('ffprobe', ['-v', 'error', '-select_streams', 'v:0', '-read_intervals', '%+#1', '-show_entries', 'packet=pts_time', '-of', 'csv=p=0', ...inputArgs(file)]);
  const t = Number.parseFloat(r.stdout.trim().split('\n')[0] ?? '');
  return r.code === 0 && Number.isFinite(t) ? t : null;
}

/** Splits the encoder's `-vf CHAIN` out of its arguments (the chunk graph carries it), keeping the rest. */
export function splitVideoFilter(args: string[]): { chain: string | null; rest: string[] } {
  const i = args.indexOf('-vf');
  if (i < 0) return { chain: null, rest: args };
  return { chain: args[i + 1] ?? null, rest: [...args.slice(0, i), ...args.slice(i + 2)] };
}

/** setpts for the chunk: times relative to its first frame, with the index's repaired times where given (integers we made). */
export function setptsExpr(overrides: [number, number][]): string {
  let e = 'PTS-STARTPTS';
  for (const [n, t] of [...overrides].reverse()) {
    if (!Number.isInteger(n) || !Number.isInteger(t)) throw new VpipeError(ErrorCodes.Internal, 'timestamp overrides must be integers');
    e = `if(eq(N,${n}),${t},${e})`;
  }
  return `'${e}'`;
}

/**
 * Builds the ffmpeg arguments (exported for tests). The decoder starts at the chunk's verified
 * random-access point and trim keeps exactly the chunk's frames by count; one branch encodes them
 * (times relative to the chunk's first frame, in the source's own time base, into MP4, which keeps
 * every packet's DTS), the other lists each taken picture's CRC for the self-check.
 */
export function chunkArgs(encoder: EncoderModule, input: ChunkEncodeInput, tmpPath: string, crcPath: string, overlays?: ChunkOverlays): string[] {
  const c = input.chunk;
  const frames = c.endFrame - c.startFrame;
  const skip = c.skipFrames ?? 0;
  const warm = warmUpOf(encoder, c);
  const src = input.source;
  const { chain, rest } = splitVideoFilter(encoder.videoArgs(input.spec));
  const stream = src ? `0:${src.streamIndex}` : '0:v:0';
  // The scale always sits between split and the encoder: split shares one pixel format across its
  // outputs, and the encoder's -pix_fmt must not convert what the CRC branch sees. The CRC branch
  // skips the warm-up frames: it lists exactly the chunk's frames.
  const crcBranch = warm > 0 ? `[h]trim=start_frame=${warm}[hc]` : null;
  const turn = TURN[input.spec.rotation ?? 0];
  // Overlays (watermarks, burn-ins) draw on the scaled pictures, from label [s] on.
  const drawn = overlays && overlays.statements.length > 0 ? overlays : null;
  const graph =
    `[${stream}]trim=start_frame=${skip}:end_frame=${skip + warm + frames},setpts=${setptsExpr(src?.ptsOverrides ?? [])},split=2[h][e];` +
    `${crcBranch ? `${crcBranch};` : ''}[e]${turn ? `${turn},` : ''}${chain ?? 'scale'}[${drawn ? OVERLAY_IN : 'v'}]` +
    (drawn ? `;${drawn.statements.join(';')}` : '');
  const timescale = src ? ['-video_track_timescale', String(src.timeBase.den)] : [];
  // The chunk's first frame is a forced clean keyframe after the warm-up; the cut keeps it and what follows.
  const forceKey = warm > 0 ? ['-force_key_frames', `expr:eq(n,${warm})`, ...(encoder.forcedKeyframeArgs ?? [])] : [];
  return [
    '-hide_banner', '-nostdin', '-nostats', '-loglevel', 'error', '-progress', 'pipe:1', '-noautorotate',
    ...(c.seekSeconds > 0 ? ['-ss', c.seekSeconds.toFixed(6), '-noaccurate_seek'] : []),
    ...inputArgs(input.sourcePath),
    ...(drawn?.inputArgs ?? []),
    '-filter_complex', graph,
    '-map', `[${drawn ? drawn.out : 'v'}]`, ...rest, ...forceKey, '-fps_mode', 'passthrough', '-enc_time_base', '-1', ...timescale, '-f', encoder.chunkMuxer ?? 'mp4', tmpPath,
    '-map', crcBranch ? '[hc]' : '[h]', '-fps_mode', 'passthrough', '-enc_time_base', '-1', '-f', 'framecrc', '-y', `file:${crcPath}`,
  ];
}

/** The label overlays start from (see overlays.ts). */
export const OVERLAY_IN = 's';

/** The chunk's overlays, their files written under the chunk's work directory. */
export function overlaysFor(encoder: EncoderModule, input: ChunkEncodeInput): Promise<ChunkOverlays> {
  return chunkOverlays({
    spec: input.spec,
    segment: input.chunk.index,
    // drawtext counts from the encode's first frame, which is the first warm-up frame.
    firstFrame: input.chunk.startFrame - warmUpOf(encoder, input.chunk),
    workDir: path.dirname(input.outPath),
    firstInput: 1,
    inLabel: OVERLAY_IN,
  });
}

/** The filters ffmpeg's autorotate inserts for each clockwise turn (chunks decode with -noautorotate and turn here). */
const TURN: Readonly<Record<number, string | null>> = { 0: null, 90: 'transpose=clock', 180: 'hflip,vflip', 270: 'transpose=cclock' };

/** Warm-up frames this encoder can use for the chunk (none where it cannot force a clean keyframe, or without the index's span). */
export function warmUpOf(encoder: EncoderModule, c: ChunkPlan): number {
  return encoder.forcedKeyframeArgs && (c.warmUpFrames ?? 0) > 0 && c.warmUpTicks !== undefined ? c.warmUpFrames! : 0;
}

/**
 * Arguments that cut the warm-up off an encode without re-encoding: seek to the forced keyframe
 * (a quarter frame past it, so decimal rounding cannot land on an earlier one), copy from there,
 * and move every packet back by exactly the warm-up span, so the chunk's first frame is at 0.
 */
export function cutArgs(warmPath: string, outPath: string, offsetTicks: number, timeBase: { num: number; den: number }, chunk: ChunkPlan): string[] {
  const off = offsetTicks * timeBase.num; // in the MP4's 1/den units
  const quarterFrame = chunk.durationSeconds / Math.max(1, chunk.endFrame - chunk.startFrame) / 4;
  const seek = (offsetTicks * timeBase.num) / timeBase.den + quarterFrame;
  return [
    '-hide_banner', '-nostdin', '-nostats', '-loglevel', 'error', '-copyts', '-ss', seek.toFixed(6), ...inputArgs(warmPath),
    '-map', '0:v:0', '-c', 'copy', '-copypriorss', '1', '-bsf:v', `setts=pts=PTS-${off}:dts=DTS-${off}`,
    '-video_track_timescale', String(timeBase.den), '-f', 'mp4', '-y', outPath,
  ];
}

/** Video packets in a file (a demux pass), or null when unreadable. */
export async function countPackets(file: string, run: ToolRunner = runTool): Promise<number | null> {
  const r = await run('ffprobe', ['-v', 'error', '-select_streams', 'v:0', '-count_packets', '-show_entries', 'stream=nb_read_packets', '-of', 'csv=p=0', ...inputArgs(file)]);
  const n = Number.parseInt(r.stdout.trim(), 10);
  return r.code === 0 && Number.isFinite(n) ? n : null;
}

/** The first frame that differs from what the index says, as a message; null when all match. */
export function compareTaken(chunk: ChunkPlan, expected: number[], taken: number[]): string | null {
  if (taken.length !== expected.length) return `took ${taken.length} frames from the source, the index has ${expected.length} (frames ${chunk.startFrame}–${chunk.endFrame - 1})`;
  for (let i = 0; i < expected.length; i++) {
    if (taken[i] !== expected[i]) {
      const bad = taken.reduce((n, h, k) => n + (h !== expected[k] ? 1 : 0), 0);
      return `source frame ${chunk.startFrame + i} is not the index's picture (CRC ${hex(taken[i]!)}, expected ${hex(expected[i]!)}; ${bad} of ${expected.length} frames differ)`;
    }
  }
  return null;
}

const hex = (n: number): string => `0x${(n >>> 0).toString(16).padStart(8, '0')}`;

function parseCrcHashes(text: string): number[] {
  const out: number[] = [];
  for (const line of text.split('\n')) {
    if (line.startsWith('#')) continue;
    const parts = line.split(',');
    if (parts.length >= 6) out.push(Number.parseInt(parts[5]!.trim(), 16) >>> 0);
  }
  return out;
}

/**
 * Encodes the chunk and checks it took the index's frames. Throws TOOL_FAILED — retryable when
 * ffmpeg died or was short of memory, not retryable when it finished with an error exit (a bad
 * source range or unsupported parameters will not heal) — and CONTENT_MISMATCH (not retryable)
 * when the frames it took are not the source's frames the index names.
 */
export async function encodeChunk(encoder: EncoderModule, input: ChunkEncodeInput, run: ToolRunner = runTool): Promise<ChunkEncodeOutput> {
  const expected = input.chunk.endFrame - input.chunk.startFrame;
  const warm = warmUpOf(encoder, input.chunk);
  const tmp = `${input.outPath}.${process.pid}.${Date.now()}.part`;
  const warmPath = `${tmp}.warm`;
  const crc = `${tmp}.crc`;
  let frames = 0;
  let speed: number | null = null;
  const started = Date.now();
  const decodedSeconds = input.chunk.durationSeconds * (1 + ((input.chunk.skipFrames ?? 0) + warm) / Math.max(1, expected));
  const overlays = await overlaysFor(encoder, input);
  try {
    const r = await run('ffmpeg', chunkArgs(encoder, input, warm > 0 ? warmPath : tmp, crc, overlays), {
      signal: input.signal,
      keepStdout: false,
      limit: { mediaSeconds: decodedSeconds, kind: 'encode' },
      // Any sign of work (a line, CPU time while the encoder flushes its lookahead) is progress for the heartbeat.
      onActivity: input.onProgress && (() => input.onProgress!(Math.max(0, frames - warm), speed)),
      onStdoutLine: (line) => {
        const [k, v] = line.split('=');
        if (k === 'frame') frames = Number(v) || frames;
        else if (k === 'speed') speed = Number.parseFloat(v ?? '') || speed;
        else if (k === 'progress') input.onProgress?.(Math.max(0, frames - warm), speed);
      },
    });
    assertToolRan('ffmpeg', r);
    const range = `frames ${input.chunk.startFrame}–${input.chunk.endFrame - 1}`;
    if (r.code !== 0) {
      const undecodable = /Error while decoding|Invalid data found|No JPEG data|concealing|corrupt/i.test(r.stderr);
      const tail = r.stderr.trim().split('\n').slice(-2).join(' | ').slice(-300);
      throw undecodable
        ? new ToolError('undecodable', `chunk ${input.chunk.index}: ${range} could not be decoded (ffmpeg exited ${r.code}): ${tail}`)
        : new VpipeError(ErrorCodes.ToolFailed, `chunk ${input.chunk.index}: encoding failed (ffmpeg exited ${r.code}): ${tail}`);
    }
    if (input.source) {
      const taken = parseCrcHashes(await fs.readFile(crc, 'utf8').catch(() => ''));
      const problem = compareTaken(input.chunk, input.source.hashes, taken);
      if (problem) throw new VpipeError(ErrorCodes.ContentMismatch, `chunk ${input.chunk.index}: ${problem}`, { details: [{ path: `chunks.${input.chunk.index}`, message: problem }] });
    }
    if (frames !== expected + warm) {
      throw new ToolError('undecodable', `chunk ${input.chunk.index}: encoded ${frames - warm} frames, expected ${expected} (${range} could not all be decoded)`);
    }
    if (warm > 0 && input.source) {
      const cut = await run('ffmpeg', cutArgs(warmPath, tmp, input.chunk.warmUpTicks!, input.source.timeBase, input.chunk), { signal: input.signal, limit: { mediaSeconds: input.chunk.durationSeconds, kind: 'assemble' } });
      assertToolRan('ffmpeg', cut);
      const kept = cut.code === 0 ? await countPackets(tmp, run) : null;
      // The cut must keep exactly the chunk's packets: anything else would shift or drop frames.
      if (kept !== expected) {
        throw new VpipeError(ErrorCodes.ToolFailed, `chunk ${input.chunk.index}: cutting the warm-up left ${kept ?? 'no'} packets, expected ${expected}${cut.code !== 0 ? `: ${cut.stderr.trim().slice(-200)}` : ''}`);
      }
    }
    const startSeconds = await firstFrameTime(tmp, run);
    // The assembler gives every chunk no in point: its first frame must be at 0 (half a source tick of slack).
    if (input.source) {
      const halfTick = (0.5 * input.source.timeBase.num) / input.source.timeBase.den + 1e-6;
      if (startSeconds === null || Math.abs(startSeconds) > halfTick) {
        throw new VpipeError(ErrorCodes.ToolFailed, `chunk ${input.chunk.index}: its first frame is at ${startSeconds ?? 'an unreadable time'} s, not 0`);
      }
    }
    await fs.rename(tmp, input.outPath);
    const { size } = await fs.stat(input.outPath);
    return { frames: expected, bytes: size, encodeSeconds: (Date.now() - started) / 1000, startSeconds };
  } finally {
    await Promise.all([tmp, warmPath, crc].map((f) => fs.rm(f, { force: true })));
    await removeDirs(overlays.dirs);
  }
}
