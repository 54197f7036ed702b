/**
 * Chunk planning on a frame index. Pure. Boundaries may fall on any frame;
 * each chunk's decoder starts at the last *verified* random-access point at
 * or before its first frame and drops the frames in between by count. Where
 * that pre-roll would cost more decoding than it saves, fewer chunks are
 * planned, and the plan says which it chose and what it costs.
 */
import { ErrorCodes, VpipeError } from '../../../runtime/core/mod.js';
import { endTicks, type FrameIndex, type RandomAccessPoint } from '../../../schemas/frame-index.js';
import type { ChunkPlan, Chunking } from '../../../schemas/ves.js';
import { DEFAULT_TARGET_SECONDS, planChunks } from './splitter.js';

/** Decoded-and-dropped frames allowed, as a multiple of the source's frames (a decode costs a few percent of an encode). */
export const MAX_PRE_ROLL_FACTOR = 4;
/** Timestamp overrides one chunk may carry (frames whose index time is not their decoded time). */
export const MAX_PTS_OVERRIDES = 256;

export interface IndexPlan {
  chunks: ChunkPlan[];
  splitting: 'random-access' | 'pre-roll' | 'single-chunk';
  preRollFrames: number;
}

/** The last verified point at or before frame `f` (frame 0 is always one). */
export function rapFor(raps: RandomAccessPoint[], f: number): RandomAccessPoint {
  let lo = 0;
  let hi = raps.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (raps[mid]!.frame <= f) lo = mid;
    else hi = mid - 1;
  }
  return raps[lo]!;
}

/** Seconds of each frame relative to the first, and the end. */
export function relativeSeconds(ix: FrameIndex): { times: number[]; end: number } {
  const { num, den } = ix.timeBase;
  const t0 = ix.pts[0] ?? 0;
  return { times: ix.pts.map((t) => ((t - t0) * num) / den), end: ((endTicks(ix) - t0) * num) / den };
}

/** Frames of rate-control warm-up before each chunk (where the encoder can force a clean keyframe): about half a second at 30 fps. */
export const WARM_UP_FRAMES = 16;

/** Starts each chunk's decode at the verified point before its warm-up frames. Pure. */
export function withRaps(ix: FrameIndex, chunks: ChunkPlan[], warmUp = 0): { chunks: ChunkPlan[]; preRoll: number } {
  let preRoll = 0;
  const out = chunks.map((c) => {
    const w = Math.min(warmUp, c.startFrame);
    const first = c.startFrame - w;
    const rap = rapFor(ix.raps, first);
    const skip = rap.lead + (first - rap.frame);
    preRoll += skip;
    const plan: ChunkPlan = { ...c, seekSeconds: rap.seekSeconds, rapFrame: rap.frame, skipFrames: skip };
    if (w > 0) {
      plan.warmUpFrames = w;
      plan.warmUpTicks = ix.pts[c.startFrame]! - ix.pts[first]!;
    }
    return plan;
  });
  return { chunks: out, preRoll };
}

/**
 * Chunks of whole output GOPs: `k × gop` frames each (k from the target), the last one absorbing
 * a tail shorter than half a chunk. A chunk then starts where an unchunked encode would put a
 * keyframe anyway, so chunking adds no keyframes. Pure.
 */
export function planByGop(times: number[], end: number, gopFrames: number, targetFrames: number): ChunkPlan[] {
  const n = times.length;
  const len = Math.max(1, Math.round(targetFrames / gopFrames)) * gopFrames;
  const bounds = [0];
  for (let b = len; b < n; b += len) bounds.push(b);
  if (bounds.length > 1 && n - bounds[bounds.length - 1]! < len / 2) bounds.pop();
  bounds.push(n);
  return bounds.slice(0, -1).map((a, i) => {
    const b = bounds[i + 1]!;
    return { index: i, startFrame: a, endFrame: b, seekSeconds: a === 0 ? 0 : (times[a - 1]! + times[a]!) / 2, startSeconds: times[a]!, durationSeconds: (b < n ? times[b]! : end) - times[a]! };
  });
}

/**
 * Plans the chunks of an indexed source. With `gopFrames` and a target of at least one GOP, chunks
 * are whole GOPs (no extra keyframes); otherwise boundaries follow the target in seconds, moved to
 * a verified point inside the min–max window where there is one. Never throws for a non-empty index.
 */
export function planOnIndex(ix: FrameIndex, chunking: Chunking | undefined, gopFrames?: number, warmUp = 0): IndexPlan {
  const n = ix.pts.length;
  const { times, end } = relativeSeconds(ix);
  const rapFrames = ix.raps.map((r) => r.frame).filter((f) => f > 0);
  const framesPerSecond = end > 0 ? n / end : 25;
  let c: Chunking = { ...chunking };
  for (let attempt = 0; ; attempt++) {
    const targetFrames = (c.targetSeconds ?? DEFAULT_TARGET_SECONDS) * framesPerSecond;
    const byGop = gopFrames !== undefined && c.enabled !== false && targetFrames >= gopFrames && c.minSeconds === undefined && c.maxSeconds === undefined;
    const base = byGop ? planByGop(times, end, gopFrames, targetFrames) : planChunks({ frameTimes: times, endSeconds: end, chunking: c, sourceKeyframes: rapFrames });
    const { chunks, preRoll } = withRaps(ix, base, warmUp);
    if (chunks.length === 1) return { chunks, splitting: chunkingOff(chunking) || attempt === 0 ? 'random-access' : 'single-chunk', preRollFrames: preRoll };
    if (preRoll <= MAX_PRE_ROLL_FACTOR * n) return { chunks, splitting: preRoll > 0 && chunks.some((k) => (k.skipFrames ?? 0) > 0) ? 'pre-roll' : 'random-access', preRollFrames: preRoll };
    // Too much decoding to throw away: longer chunks (fewer starts far from a verified point).
    const target = (c.targetSeconds ?? DEFAULT_TARGET_SECONDS) * 1.5;
    c = { ...c, targetSeconds: target, ...(c.minSeconds !== undefined ? { minSeconds: Math.min(c.minSeconds, target) } : {}), ...(c.maxSeconds !== undefined ? { maxSeconds: Math.max(c.maxSeconds, target * 2) } : {}) };
    if (target > end * 2) {
      const one = withRaps(ix, planChunks({ frameTimes: times, endSeconds: end, chunking: { enabled: false } }), warmUp);
      return { chunks: one.chunks, splitting: 'single-chunk', preRollFrames: one.preRoll };
    }
  }
}

function chunkingOff(c: Chunking | undefined): boolean {
  return c?.enabled === false;
}

/**
 * What chunk `c` must take from the source: every frame's CRC, and time overrides for frames
 * whose index time differs from the decoded time's offset from the chunk's first frame.
 * Throws BAD_REQUEST when a chunk would need more overrides than fit in a work item.
 */
export function chunkSourceCheck(ix: FrameIndex, c: ChunkPlan): { hashes: number[]; ptsOverrides: [number, number][] } {
  const hashes = ix.hash.slice(c.startFrame, c.endFrame);
  const decoded = new Map<number, number>(ix.repaired.map(([f, t]) => [f, t]));
  const overrides: [number, number][] = [];
  // Times are relative to the first frame the encoder gets (the first warm-up frame, if any).
  const from = c.startFrame - (c.warmUpFrames ?? 0);
  const first = ix.pts[from]!;
  const firstDecoded = decoded.get(from) ?? first;
  for (let f = from; f < c.endFrame; f++) {
    const want = ix.pts[f]! - first;
    const got = (decoded.get(f) ?? ix.pts[f]!) - firstDecoded;
    if (want !== got) overrides.push([f - from, want]);
  }
  if (overrides.length > MAX_PTS_OVERRIDES) {
    throw new VpipeError(
      ErrorCodes.BadRequest,
      `chunk ${c.index}: ${overrides.length} frames have timestamps that do not increase (more than ${MAX_PTS_OVERRIDES} per chunk); remux the source with clean timestamps`,
    );
  }
  return { hashes, ptsOverrides: overrides };
}
