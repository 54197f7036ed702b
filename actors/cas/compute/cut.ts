/**
 * Cuts the sample into ONE lossless mezzanine, frame-exactly, so the trial
 * encodes and the reference the trials are scored against share the same
 * frames: x264 `-qp 0` (an IDR every 2 s), in the source's pixel depth
 * (4:2:0), turned as a player shows it, at a constant rate in MP4.
 *
 * With the source's frame index, each segment is its own ffmpeg that starts
 * decoding at the verified random-access point before it and takes its
 * frames by count; each taken picture's CRC is checked against the index.
 * Without one, a single decode from the start selects the segments' frames
 * by number. Either way the raw H.264 segments are joined byte for byte
 * (each starts with its parameter sets and an IDR) and remuxed into MP4 with
 * exact timestamps, and the CRC of every picture handed to the lossless
 * encoder is kept, for the check against the mezzanine's own index.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { ErrorCodes, ToolError, VpipeError } from '../../../runtime/core/mod.js';
import { assertToolRan, inputArgs, runTool, type ToolRunner } from '../../../runtime/media/mod.js';
import type { SourceInfo } from './source.js';

export interface CutSegment {
  startFrame: number;
  frames: number;
  /** Random access: the verified point's seek time and the decoded frames to drop before the segment (by count). */
  seekSeconds?: number;
  skipFrames?: number;
  /** Random access: the index's CRC of each of the segment's frames. */
  expected?: number[];
}

export interface CutInput {
  sourcePath: string;
  info: SourceInfo;
  access: 'random-access' | 'decode-from-start';
  segments: CutSegment[];
  /** Decode from the start: take every frame the decode gives (the whole title, whose frame count the header only guesses). */
  takeAll?: boolean;
  /** Where the segments, the mezzanine (`sample.mp4`) and its picture CRCs go. */
  workDir: string;
  threads: number;
  signal?: AbortSignal;
}

export interface CutOutput {
  path: string;
  frames: number;
  /** CRC (framecrc Adler-32) of each picture the mezzanine holds, in order. */
  pictureCrcs: number[];
  seconds: number;
}

/** The filters ffmpeg's autorotate would insert for each clockwise turn (decoding is unturned, to match the index). */
const TURN: Readonly<Record<number, string>> = { 90: ',transpose=clock', 180: ',hflip,vflip', 270: ',transpose=cclock' };

/** The mezzanine's pixel format: 4:2:0 at the source's depth (the trials are 4:2:0). */
export const mezzanineFormat = (info: SourceInfo): string => (info.bitDepth > 8 ? 'yuv420p10le' : 'yuv420p');

/** Lossless x264, an IDR every 2 s (VIS checks each key frame of the mezzanine by seeking: one per frame would be costly). */
function lossless(input: CutInput): string[] {
  const gop = Math.max(1, Math.round((2 * input.info.frameRate.num) / input.info.frameRate.den));
  return ['-c:v', 'libx264', '-qp', '0', '-preset', 'ultrafast', '-g', String(gop), '-threads', String(input.threads)];
}
const HEAD = ['-hide_banner', '-nostdin', '-nostats', '-loglevel', 'error', '-progress', 'pipe:1', '-noautorotate'];

/** The picture branch: a plain `scale` first, so the format conversion never reaches back past split to what the CRC branch sees. */
function pictures(info: SourceInfo): string {
  return `scale,format=${mezzanineFormat(info)}${TURN[info.rotation] ?? ''},split=2[v][k]`;
}

/** One random-access segment: decode from its verified point, take its frames by count, encode them losslessly, list both CRCs. */
export function segmentArgs(input: CutInput, s: CutSegment, out: { h264: string; sourceCrc: string; pictureCrc: string }): string[] {
  const skip = s.skipFrames ?? 0;
  const graph = `[0:${input.info.streamIndex}]trim=start_frame=${skip}:end_frame=${skip + s.frames},split=2[c][e];[e]${pictures(input.info)}`;
  return [
    ...HEAD,
    ...((s.seekSeconds ?? 0) > 0 ? ['-ss', s.seekSeconds!.toFixed(6), '-noaccurate_seek'] : []),
    ...inputArgs(input.sourcePath),
    '-filter_complex', graph,
    '-map', '[v]', ...lossless(input), '-fps_mode', 'passthrough', '-f', 'h264', '-y', `file:${out.h264}`,
    '-map', '[c]', '-fps_mode', 'passthrough', '-f', 'framecrc', '-y', `file:${out.sourceCrc}`,
    '-map', '[k]', '-fps_mode', 'passthrough', '-f', 'framecrc', '-y', `file:${out.pictureCrc}`,
  ];
}

/** Every segment in one decode from the start: frames selected by number, the decode stopped after the last one. */
export function decodeFromStartArgs(input: CutInput, out: { h264: string; pictureCrc: string }): string[] {
  const total = input.segments.reduce((n, s) => n + s.frames, 0);
  const ranges = input.segments.map((s) => `between(n,${s.startFrame},${s.startFrame + s.frames - 1})`).join('+');
  const graph = `[0:${input.info.streamIndex}]${input.takeAll ? '' : `select='${ranges}',`}${pictures(input.info)}`;
  const stop = input.takeAll ? [] : ['-frames:v', String(total)];
  return [
    ...HEAD,
    ...inputArgs(input.sourcePath),
    '-filter_complex', graph,
    '-map', '[v]', ...lossless(input), '-fps_mode', 'passthrough', ...stop, '-f', 'h264', '-y', `file:${out.h264}`,
    '-map', '[k]', '-fps_mode', 'passthrough', ...stop, '-f', 'framecrc', '-y', `file:${out.pictureCrc}`,
  ];
}

/** The CRC column of a framecrc list: the sixth field of `stream, dts, pts, duration, size, 0xCRC[, side data]` lines. */
export function parseCrcs(text: string): number[] {
  return [...text.matchAll(/^\d+(?:,[^,\n]*){4},\s*0x([0-9a-f]+)/gim)].map((m) => Number.parseInt(m[1]!, 16) >>> 0);
}

const hex = (n: number): string => `0x${(n >>> 0).toString(16).padStart(8, '0')}`;

/** The first difference between two CRC lists as a sentence, or null when they are equal. `base` numbers the frames. */
export function crcMismatch(what: string, expected: number[], got: number[], base = 0): string | null {
  if (got.length !== expected.length) return `${what}: ${got.length} frames, expected ${expected.length}`;
  const i = got.findIndex((c, k) => c !== expected[k]);
  if (i < 0) return null;
  const bad = got.filter((c, k) => c !== expected[k]).length;
  return `${what}: frame ${base + i} is ${hex(got[i]!)}, expected ${hex(expected[i]!)} (${bad} of ${expected.length} frames differ)`;
}

async function ffmpeg(args: string[], mediaSeconds: number, signal: AbortSignal | undefined, run: ToolRunner, what: string): Promise<void> {
  const r = await run('ffmpeg', args, { signal, keepStdout: false, limit: { mediaSeconds, kind: 'encode' } });
  assertToolRan('ffmpeg', r);
  if (r.code !== 0) throw new ToolError('undecodable', `${what}: ffmpeg exited ${r.code}: ${r.stderr.trim().split('\n').slice(-2).join(' | ').slice(-300)}`);
}

const readCrcs = async (file: string): Promise<number[]> => parseCrcs(await fs.readFile(file, 'utf8').catch(() => ''));

/**
 * Writes `<workDir>/sample.mp4` (replacing it whole, through a temporary name). Throws CONTENT_MISMATCH
 * when a segment's pictures are not the index's, TOOL_FAILED when a segment came out short (the source
 * ended or would not decode), TOOL_* when ffmpeg breaks.
 */
export async function cutSample(input: CutInput, run: ToolRunner = runTool): Promise<CutOutput> {
  const started = Date.now();
  const fps = input.info.frameRate.num / input.info.frameRate.den;
  const seg = (i: number, ext: string) => path.join(input.workDir, `segment_${String(i).padStart(3, '0')}.${ext}`);
  const parts: string[] = [];
  const pictureCrcs: number[] = [];
  if (input.access === 'random-access') {
    // One segment after another: each decodes only from its verified point (a few seconds), so two at once would gain little on a shared node.
    for (const [i, s] of input.segments.entries()) {
      const out = { h264: seg(i, 'h264'), sourceCrc: seg(i, 'src.crc'), pictureCrc: seg(i, 'pic.crc') };
      await ffmpeg(segmentArgs(input, s, out), (s.frames + (s.skipFrames ?? 0)) / fps, input.signal, run, `sample segment ${i}`);
      const problem = s.expected ? crcMismatch(`sample segment ${i} (source frames ${s.startFrame}–${s.startFrame + s.frames - 1})`, s.expected, await readCrcs(out.sourceCrc), s.startFrame) : null;
      if (problem) throw new VpipeError(ErrorCodes.ContentMismatch, `${problem}: the decode did not take the frame index's pictures`, { details: [{ path: 'source.uri', message: problem }] });
      parts.push(out.h264);
      pictureCrcs.push(...(await readCrcs(out.pictureCrc)));
    }
  } else {
    const out = { h264: seg(0, 'h264'), pictureCrc: seg(0, 'pic.crc') };
    const last = input.segments[input.segments.length - 1]!;
    await ffmpeg(decodeFromStartArgs(input, out), (last.startFrame + last.frames) / fps, input.signal, run, 'sample decode');
    parts.push(out.h264);
    pictureCrcs.push(...(await readCrcs(out.pictureCrc)));
  }
  const wanted = input.takeAll ? pictureCrcs.length : input.segments.reduce((n, s) => n + s.frames, 0);
  if (pictureCrcs.length === 0 || pictureCrcs.length !== wanted) throw new ToolError('undecodable', `the sample came out with ${pictureCrcs.length} frames, ${wanted} were planned: the source ends early or does not decode there`);
  const joined = path.join(input.workDir, 'sample.h264');
  await fs.writeFile(joined, '');
  for (const p of parts) await fs.appendFile(joined, await fs.readFile(p));
  const target = path.join(input.workDir, 'sample.mp4');
  const tmp = `${target}.part`;
  const { num, den } = input.info.frameRate;
  // Constant rate: frame i at i × den / num seconds, exactly, in a num-per-second track timescale.
  await ffmpeg(
    ['-hide_banner', '-nostdin', '-nostats', '-loglevel', 'error', '-framerate', `${num}/${den}`, '-f', 'h264', ...inputArgs(joined), '-map', '0:v:0', '-c', 'copy', '-video_track_timescale', String(num), '-f', 'mp4', '-y', `file:${tmp}`],
    wanted / fps,
    input.signal,
    run,
    'sample remux',
  );
  await fs.rename(tmp, target);
  await Promise.all([joined, ...parts].map((p) => fs.rm(p, { force: true })));
  return { path: target, frames: pictureCrcs.length, pictureCrcs, seconds: (Date.now() - started) / 1000 };
}
