/**
 * The splitter: plans frame-accurate chunks. Pure — frame times, scene cuts
 * and source keyframes in, chunk plans out. Each chunk is whole frames [start, end); the
 * next chunk starts at the very next frame, so nothing is dropped or doubled.
 */
import type { ChunkPlan, Chunking } from '../../../schemas/ves.js';

export const DEFAULT_TARGET_SECONDS = 4;

export interface SplitInput {
  frameTimes: number[];
  endSeconds: number;
  chunking?: Chunking;
  /** Frame indexes of scene cuts (used when chunking.alignToSceneCuts). */
  sceneCuts?: number[];
  /**
   * Frame indexes of the source's keyframes. Without scene cuts to follow, a
   * boundary moves to the source keyframe nearest the target inside the
   * min–max window: the chunk's decoder then starts there with no pre-roll.
   */
  sourceKeyframes?: number[];
}

/** First frame index whose time is ≥ t, at most n. */
function frameAtOrAfter(times: number[], t: number, from: number): number {
  let i = from;
  while (i < times.length && times[i]! < t - 1e-9) i++;
  return i;
}

/** Plans the chunks; one chunk when chunking is disabled or the source is shorter than a chunk. Never throws for a non-empty source. */
export function planChunks(input: SplitInput): ChunkPlan[] {
  const t = input.frameTimes;
  const n = t.length;
  const c = input.chunking ?? {};
  const target = c.targetSeconds ?? DEFAULT_TARGET_SECONDS;
  const min = c.minSeconds ?? Math.min(target / 2, c.maxSeconds ?? Infinity);
  const max = Math.max(c.maxSeconds ?? target * 2, min);
  const cuts = [...((c.alignToSceneCuts ? input.sceneCuts : input.sourceKeyframes) ?? [])].sort((a, b) => a - b);
  const bounds: number[] = [0];
  if (c.enabled !== false) {
    let s = 0;
    while (s < n) {
      const t0 = t[s]!;
      if (input.endSeconds - t0 <= max && input.endSeconds - t0 < target + min) break; // the rest fits in one chunk
      let e = frameAtOrAfter(t, t0 + target, s + 1);
      const inWindow = cuts.filter((k) => k > s && t[k]! - t0 >= min - 1e-9 && t[k]! - t0 <= max + 1e-9);
      if (inWindow.length) e = inWindow.reduce((best, k) => (Math.abs(t[k]! - t0 - target) < Math.abs(t[best]! - t0 - target) ? k : best));
      if (e >= n) break;
      // Never leave a tail shorter than min: end this chunk so the rest is split in two.
      if (input.endSeconds - t[e]! < min) e = frameAtOrAfter(t, t0 + (input.endSeconds - t0) / 2, s + 1);
      if (e <= s || e >= n) break;
      bounds.push(e);
      s = e;
    }
  }
  bounds.push(n);
  const plans: ChunkPlan[] = [];
  for (let i = 0; i + 1 < bounds.length; i++) {
    const a = bounds[i]!;
    const b = bounds[i + 1]!;
    const start = t[a]!;
    const next = b < n ? t[b]! : input.endSeconds;
    plans.push({
      index: i,
      startFrame: a,
      endFrame: b,
      // Half-way to the previous frame: the decoder drops everything before, keeps frame a; no float ties.
      seekSeconds: a === 0 ? 0 : (t[a - 1]! + start) / 2,
      startSeconds: start,
      durationSeconds: next - start,
    });
  }
  return plans;
}
