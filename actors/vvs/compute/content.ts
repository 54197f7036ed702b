/**
 * Does the output show the source's pictures at the source's times? Frames
 * are lined up by index through the source's frame index (never by guessed
 * timestamps): every output frame's time is compared with the index's, and
 * every output frame's PSNR with the source frame at the same index.
 */
import { assertToolRan, inputArgs, runTool, type ToolRunner } from '../../../runtime/media/mod.js';
import type { FrameIndex } from '../../../schemas/frame-index.js';

export interface ContentInput {
  path: string;
  sourcePath: string;
  index: FrameIndex;
  width: number | null;
  height: number | null;
  checkTimes: boolean;
  chunkStarts: number[];
  /** Rectangles blacked out in both pictures before the PSNR (drawn on purpose). */
  maskRegions?: { x: number; y: number; width: number; height: number }[];
  signal?: AbortSignal;
}

/** drawbox filters that black the regions out (integers from the schema). */
export function maskFilters(regions: ContentInput['maskRegions']): string {
  return (regions ?? []).map((r) => `,drawbox=x=${int(r.x)}:y=${int(r.y)}:w=${int(r.width)}:h=${int(r.height)}:color=black:t=fill`).join('');
}

function int(n: number): number {
  if (!Number.isSafeInteger(n) || n < 0) throw new Error(`mask coordinate ${n} is not a non-negative integer`);
  return n;
}

export interface BadFrame {
  frame: number;
  chunk: number | null;
  psnr: number;
}

export interface ContentCheck {
  sourceFrames: number;
  outputFrames: number;
  /** Frames compared by PSNR (the shorter of the two). */
  compared: number;
  psnrMean: number | null;
  psnrMin: number | null;
  psnrMinFrame: number | null;
  /** Up to 20 frames below the floor, worst first, and how many there were. */
  worst: BadFrame[];
  belowFloor: number;
  floorDb: number;
  /** Frames whose time differs from the source's by more than half a tick of the output's time base. */
  timeErrors: number;
  maxTimeErrorSeconds: number;
  firstTimeError: { frame: number; expectedSeconds: number; actualSeconds: number } | null;
  toleranceSeconds: number;
  /** Packets whose DTS does not increase. */
  dtsNonIncreasing: number;
}

/** PSNR given for identical frames (the filter says inf). */
const PSNR_CAP = 100;

/** The chunk holding `frame` (binary search over sorted starts); null without starts. */
export function chunkOf(starts: number[], frame: number): number | null {
  if (starts.length === 0) return null;
  let lo = 0;
  let hi = starts.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (starts[mid]! <= frame) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}

/** Output packets' pts/dts in ticks, and the time base (one demux pass, no decode). */
async function outputTimes(input: ContentInput, run: ToolRunner): Promise<{ pts: number[]; dts: number[]; tb: number }> {
  const pts: number[] = [];
  const dts: number[] = [];
  let tb = 0;
  const r = await run('ffprobe', ['-v', 'error', '-select_streams', 'v:0', '-show_entries', 'stream=time_base:packet=pts,dts', '-of', 'csv=p=0', ...inputArgs(input.path)], {
    signal: input.signal,
    keepStdout: false,
    limit: { mediaSeconds: null, kind: 'demux' },
    onStdoutLine: (line) => {
      // The stream's line ("1/12800", with a trailing comma when it has side data) comes after the packets.
      const m = /^(\d+)\/(\d+)(,|$)/.exec(line.trim());
      if (m) {
        tb = Number(m[1]) / Number(m[2]);
        return;
      }
      const [p, d] = line.split(',').map((x) => x.trim());
      if (p && p !== 'N/A' && Number.isFinite(Number(p))) pts.push(Number(p));
      if (d && d !== 'N/A' && Number.isFinite(Number(d))) dts.push(Number(d));
    },
  });
  assertToolRan('ffprobe', r);
  return { pts, dts, tb };
}

/** Per-frame PSNR (psnr_avg) of output frame i against source frame i, in one decode of both. */
async function psnrByIndex(input: ContentInput, run: ToolRunner): Promise<number[]> {
  const w = input.width ?? input.index.width;
  const h = input.height ?? input.index.height;
  // settb + setpts=N on both branches: the filter pairs frame i with frame i, whatever either file's timestamps say.
  const mask = maskFilters(input.maskRegions);
  const graph =
    `[0:v:0]settb=1/25,setpts=N,scale=${w}:${h}:flags=bicubic,format=yuv420p${mask}[o];` +
    `[1:${input.index.streamIndex}]settb=1/25,setpts=N,scale=${w}:${h}:flags=bicubic,format=yuv420p${mask}[s];` +
    `[o][s]psnr=stats_file=-:shortest=1:repeatlast=0`;
  const scores: number[] = [];
  const r = await run(
    'ffmpeg',
    // The source decoded as a player shows it (autorotate on), as the output was encoded; frames pair by count.
    ['-hide_banner', '-nostdin', '-nostats', '-loglevel', 'error', '-reinit_filter', '0', ...inputArgs(input.path), '-reinit_filter', '0', ...inputArgs(input.sourcePath), '-filter_complex', graph, '-fps_mode', 'passthrough', '-f', 'null', '-'],
    {
      signal: input.signal,
      keepStdout: false,
      limit: { mediaSeconds: null, kind: 'measure' },
      onStdoutLine: (line) => {
        const m = /\bn:(\d+)\b.*\bpsnr_avg:(inf|[-0-9.]+)/.exec(line);
        if (m) scores[Number(m[1]) - 1] = m[2] === 'inf' ? PSNR_CAP : Math.min(PSNR_CAP, Number(m[2]));
      },
    },
  );
  assertToolRan('ffmpeg', r);
  return scores;
}

/** Measures the output against the source; throws only TOOL_* / CANCELLED (a mismatch is data). */
export async function measureContent(input: ContentInput, floorDb: number, run: ToolRunner = runTool): Promise<ContentCheck> {
  const ix = input.index;
  const [times, scores] = await Promise.all([outputTimes(input, run), psnrByIndex(input, run)]);
  const sorted = Float64Array.from(times.pts).sort();
  const srcTb = ix.timeBase.num / ix.timeBase.den;
  const tolerance = Math.max(times.tb / 2, 1e-6);
  let timeErrors = 0;
  let maxErr = 0;
  let firstTimeError: ContentCheck['firstTimeError'] = null;
  if (input.checkTimes && sorted.length > 0) {
    const o0 = sorted[0]!;
    const s0 = ix.pts[0]!;
    const n = Math.min(sorted.length, ix.pts.length);
    for (let i = 0; i < n; i++) {
      const want = (ix.pts[i]! - s0) * srcTb;
      const got = (sorted[i]! - o0) * times.tb;
      const err = Math.abs(got - want);
      maxErr = Math.max(maxErr, err);
      if (err > tolerance + 1e-9) {
        timeErrors++;
        firstTimeError ??= { frame: i, expectedSeconds: want, actualSeconds: got };
      }
    }
  }
  let dtsBad = 0;
  for (let i = 1; i < times.dts.length; i++) if (times.dts[i]! <= times.dts[i - 1]!) dtsBad++;
  const compared = scores.filter((x) => x !== undefined).length;
  const bad: BadFrame[] = [];
  let sum = 0;
  let min = Infinity;
  let minFrame: number | null = null;
  scores.forEach((p, i) => {
    sum += p;
    if (p < min) {
      min = p;
      minFrame = i;
    }
    if (p < floorDb) bad.push({ frame: i, chunk: chunkOf(input.chunkStarts, i), psnr: Math.round(p * 100) / 100 });
  });
  bad.sort((a, b) => a.psnr - b.psnr);
  return {
    sourceFrames: ix.pts.length,
    outputFrames: times.pts.length,
    compared,
    psnrMean: compared ? Math.round((sum / compared) * 1000) / 1000 : null,
    psnrMin: compared ? Math.round(min * 1000) / 1000 : null,
    psnrMinFrame: minFrame,
    worst: bad.slice(0, 20),
    belowFloor: bad.length,
    floorDb,
    timeErrors,
    maxTimeErrorSeconds: maxErr,
    firstTimeError,
    toleranceSeconds: tolerance,
    dtsNonIncreasing: dtsBad,
  };
}
