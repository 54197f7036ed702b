/**
 * Real-media pieces for forensic watermark tests: a lossless piece of a source cut into segments,
 * a segment encoded with or without a variant's mark (libx264, a keyframe at its start, as the
 * encoder's chunks are), a recipient's copy assembled by concat + stream copy, the leak attack
 * (re-encode at CRF 30, half size) and PSNR by ffmpeg's psnr filter. Plain ffmpeg through runTool.
 */
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { DEFAULT_FONT_FILE } from '../../encoders/burn-in/drawtext.js';
import { markFilter, variantFor, type MarkOptions } from '../../encoders/forensic/index.js';
import { inputArgs, runTool } from '../../runtime/media/mod.js';

export { psnr } from './measure.js';

async function ffmpeg(args: string[], what: string): Promise<string> {
  const r = await runTool('ffmpeg', ['-hide_banner', '-nostdin', '-nostats', '-loglevel', 'error', '-y', ...args], { timeoutMs: 120_000 });
  if (r.code !== 0) throw new Error(`${what} failed (ffmpeg exit ${r.code}): ${r.stderr.slice(-1500)}`);
  return r.stderr;
}

/** Runs tasks with at most `limit` at a time, results in order. */
export async function pool<T>(limit: number, tasks: (() => Promise<T>)[]): Promise<T[]> {
  const out = new Array<T>(tasks.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < tasks.length) {
      const i = next++;
      out[i] = await tasks[i]!();
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, tasks.length) }, worker));
  return out;
}

export interface Piece {
  /** Lossless per-segment sources (FFV1, every frame a keyframe, times from 0), one per segment. */
  files: string[];
  /** Segment k = original frames [startFrame, endFrame) of the source. */
  segments: { startFrame: number; endFrame: number }[];
  width: number;
  height: number;
  /** Frames per second of the source (each segment lasts its frames / frameRate). */
  frameRate: number;
}

/** The first video stream's average frame rate. */
export async function frameRate(file: string): Promise<number> {
  const r = await runTool('ffprobe', ['-v', 'error', '-select_streams', 'v:0', '-show_entries', 'stream=avg_frame_rate', '-of', 'csv=p=0', ...inputArgs(file)]);
  const [num, den] = r.stdout.trim().split('/').map(Number);
  if (r.code !== 0 || !num || !den) throw new Error(`no frame rate for ${file}: ${r.stderr}`);
  return num / den;
}

/**
 * Source frames [startFrame, startFrame + segments·segmentFrames), scaled to width × height, cut into
 * `segments` lossless files of `segmentFrames` frames each (one ffmpeg run, the segment muxer).
 */
export async function cutPiece(
  source: string,
  opts: { startFrame: number; segmentFrames: number; segments: number; width: number; height: number },
  dir: string,
): Promise<Piece> {
  const { startFrame, segmentFrames: n, segments, width, height } = opts;
  const end = startFrame + n * segments;
  const cuts = Array.from({ length: segments - 1 }, (_, k) => (k + 1) * n).join(',');
  const pattern = path.join(dir, `piece-${startFrame}-%03d.mkv`);
  await ffmpeg([
    ...inputArgs(source), '-map', '0:v:0',
    '-vf', `trim=start_frame=${startFrame}:end_frame=${end},setpts=PTS-STARTPTS,scale=${width}:${height},format=yuv420p`,
    '-c:v', 'ffv1', '-g', '1', '-f', 'segment', '-segment_format', 'matroska', '-segment_frames', cuts, '-reset_timestamps', '1', `file:${pattern}`,
  ], 'cutting the piece');
  return {
    files: Array.from({ length: segments }, (_, k) => pattern.replace('%03d', String(k).padStart(3, '0'))),
    segments: Array.from({ length: segments }, (_, k) => ({ startFrame: startFrame + k * n, endFrame: startFrame + (k + 1) * n })),
    width, height, frameRate: await frameRate(source),
  };
}

export interface EncodeOptions {
  crf?: number;
  preset?: string;
}

/** libx264 output arguments of a segment (yuv420p, one thread, so runs are reproducible; each file starts with an IDR frame). */
const segmentOutput = (out: string, opts: EncodeOptions): string[] => [
  '-c:v', 'libx264', '-preset', opts.preset ?? 'veryfast', '-crf', String(opts.crf ?? 18), '-pix_fmt', 'yuv420p', '-threads', '1', '-an', '-f', 'mp4', `file:${out}`,
];

/**
 * One segment as H.264 in MP4, once per entry of `marks` (null = unmarked), in one ffmpeg run: one
 * decode split to each output, each mark applied by its markFilter fragment as the encoder would
 * (after the picture is at its output size, before the encoder).
 */
export async function encodeSegment(src: string, outputs: { out: string; mark: MarkOptions | null }[], workDir: string, opts: EncodeOptions = {}): Promise<string[]> {
  const inputs: string[] = [];
  const graph = [`[0:v]format=yuv420p,split=${outputs.length}${outputs.map((_, i) => `[s${i}]`).join('')}`];
  const maps: string[] = [];
  let nextInput = 1;
  for (const [i, o] of outputs.entries()) {
    if (o.mark) {
      const m = await markFilter(o.mark, workDir, nextInput++);
      inputs.push(...m.inputArgs);
      graph.push(m.filter(`s${i}`, `o${i}`));
    } else graph.push(`[s${i}]null[o${i}]`);
    maps.push('-map', `[o${i}]`, ...segmentOutput(o.out, opts));
  }
  await ffmpeg([...inputArgs(src), ...inputs, '-filter_complex', graph.join(';'), ...maps], `encoding ${path.basename(outputs[0]!.out)}`);
  return outputs.map((o) => o.out);
}

export interface VariantSet {
  /** files[k][v]: segment k in variant v. */
  files: [string, string][];
  /** unmarked[k]: segment k without a mark, same encoder settings. */
  unmarked: string[];
  /** Seconds of each segment. */
  durations: number[];
}

/** Seconds of each segment of a piece. */
export const durationsOf = (piece: Piece): number[] => piece.segments.map((s) => (s.endFrame - s.startFrame) / piece.frameRate);

/** Every segment of a piece in both variants of a title's mark, and unmarked. */
export async function encodeVariants(piece: Piece, titleSeed: string, dir: string, opts: EncodeOptions & { strength?: number; concurrency?: number } = {}): Promise<VariantSet> {
  const mark = (segment: number, variant: 0 | 1): MarkOptions => ({ titleSeed, segment, variant, width: piece.width, height: piece.height, strength: opts.strength });
  const sets = await pool(opts.concurrency ?? 2, piece.files.map((src, k) => () =>
    encodeSegment(src, [
      { out: path.join(dir, `seg-${k}-plain.mp4`), mark: null },
      { out: path.join(dir, `seg-${k}-v0.mp4`), mark: mark(k, 0) },
      { out: path.join(dir, `seg-${k}-v1.mp4`), mark: mark(k, 1) },
    ], dir, opts)));
  return { files: sets.map((f) => [f[1]!, f[2]!]), unmarked: sets.map((f) => f[0]!), durations: durationsOf(piece) };
}

/**
 * Joins files by the concat demuxer with stream copy (an ffconcat list beside `out`). Give each
 * file's duration where known: without it the demuxer starts each file at the previous one's
 * container duration, which MP4 rounds, and the copy drifts from the source's times.
 */
export async function concatFiles(files: string[], out: string, durations?: number[]): Promise<string> {
  const list = `${out}.ffconcat`;
  const quote = (p: string): string => `'${p.replace(/'/g, "'\\''")}'`;
  const entry = (f: string, i: number): string => `file ${quote(f)}\n${durations?.[i] !== undefined ? `duration ${durations[i]!.toFixed(6)}\n` : ''}`;
  await writeFile(list, `ffconcat version 1.0\n${files.map(entry).join('')}`);
  await ffmpeg(['-f', 'concat', '-safe', '0', ...inputArgs(list), '-map', '0:v:0', '-c', 'copy', '-f', 'mp4', `file:${out}`], `assembling ${path.basename(out)}`);
  return out;
}

/** A recipient's copy: segment k in variant variantFor(payload, k). */
export function assembleRecipient(set: VariantSet, payload: number, out: string): Promise<string> {
  return concatFiles(set.files.map((pair, k) => pair[variantFor(payload, k)]), out, set.durations);
}

/** The leak attack: re-encode with libx264 at `crf` (default 30), scaled by `scale` (default half size). */
export async function leakAttack(input: string, out: string, opts: { crf?: number; scale?: number; preset?: string } = {}): Promise<string> {
  const f = opts.scale ?? 0.5;
  const vf = f === 1 ? 'null' : f === 0.5 ? 'scale=iw/2:ih/2' : `scale=trunc(iw*${f}/2)*2:trunc(ih*${f}/2)*2`;
  await ffmpeg([
    ...inputArgs(input), '-map', '0:v:0', '-vf', vf,
    '-c:v', 'libx264', '-preset', opts.preset ?? 'veryfast', '-crf', String(opts.crf ?? 30), '-pix_fmt', 'yuv420p', '-threads', '1', '-f', 'mp4', `file:${out}`,
  ], `attacking ${path.basename(input)}`);
  return out;
}

/**
 * Burn-in on a copy, as the encoder adds it after the mark: a translucent lower-third box with a
 * recipient line and a running timecode (drawtext with the burn-in module's default font), re-encoded
 * at CRF 16. The original has none of it.
 */
export async function burnIn(input: string, out: string, text = 'CONFIDENTIAL screener 0042'): Promise<string> {
  if (!/^[A-Za-z0-9 ]+$/.test(text)) throw new Error('burnIn: plain text only');
  const font = DEFAULT_FONT_FILE;
  const vf = [
    'drawbox=x=0:y=ih*5/6:w=iw:h=ih/6:color=black@0.6:t=fill',
    `drawtext=fontfile=${font}:text='${text}':x=20:y=h*5/6+10:fontsize=h/14:fontcolor=white`,
    `drawtext=fontfile=${font}:text='%{pts\\:hms}':x=w*2/3:y=20:fontsize=h/14:fontcolor=yellow`,
  ].join(',');
  await ffmpeg([
    ...inputArgs(input), '-map', '0:v:0', '-vf', vf,
    '-c:v', 'libx264', '-preset', 'veryfast', '-crf', '16', '-pix_fmt', 'yuv420p', '-threads', '1', '-f', 'mp4', `file:${out}`,
  ], `burning in ${path.basename(input)}`);
  return out;
}

/** A plain encode of a piece of a source (no segments, no mark): the kind of copy a detector must reject. */
export async function plainEncode(source: string, out: string, opts: { startFrame: number; frames: number; width: number; height: number; crf: number }): Promise<string> {
  await ffmpeg([
    ...inputArgs(source), '-map', '0:v:0',
    '-vf', `trim=start_frame=${opts.startFrame}:end_frame=${opts.startFrame + opts.frames},setpts=PTS-STARTPTS,scale=${opts.width}:${opts.height}`,
    '-c:v', 'libx264', '-preset', 'veryfast', '-crf', String(opts.crf), '-pix_fmt', 'yuv420p', '-threads', '1', '-f', 'mp4', `file:${out}`,
  ], `encoding ${path.basename(out)}`);
  return out;
}
