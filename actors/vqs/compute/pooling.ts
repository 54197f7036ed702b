/**
 * Pooling per-frame scores into the numbers people quote, pure: mean,
 * harmonic mean, min, max and low percentiles. Segments are joined frame by
 * frame first, so a parallel measurement pools exactly like one pass.
 */
import { PSNR_CAP_DB, type PooledScores } from '../../../schemas/vqs.js';

/** Rounds for the wire: scores carry no more precision than libvmaf logs (6 decimals). */
export const round6 = (x: number): number => Math.round(x * 1e6) / 1e6;

/** The p-th percentile (0–100) of sorted values, linear between the closest ranks (numpy's default). */
export function percentile(sorted: ArrayLike<number>, p: number): number {
  const n = sorted.length;
  if (n === 0) return NaN;
  const rank = (p / 100) * (n - 1);
  const lo = Math.floor(rank);
  const hi = Math.min(n - 1, lo + 1);
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (rank - lo);
}

/** Pools per-frame scores; throws on an empty list (a measurement of no frames is a bug upstream). */
export function pool(values: ArrayLike<number>): PooledScores {
  const n = values.length;
  if (n === 0) throw new Error('no frames to pool');
  let sum = 0;
  let inverse = 0;
  for (let i = 0; i < n; i++) {
    sum += values[i]!;
    inverse += 1 / (values[i]! + 1);
  }
  const sorted = Float64Array.from(values).sort();
  return {
    mean: round6(sum / n),
    harmonicMean: round6(n / inverse - 1),
    min: round6(sorted[0]!),
    max: round6(sorted[n - 1]!),
    p1: round6(percentile(sorted, 1)),
    p5: round6(percentile(sorted, 5)),
  };
}

/** One plane's PSNR as the filter prints it (`inf` for identical planes), capped at PSNR_CAP_DB. */
export function cappedPsnr(text: string): number {
  const x = text === 'inf' ? Infinity : Number(text);
  if (Number.isNaN(x)) throw new Error(`not a PSNR: ${text}`);
  return Math.min(PSNR_CAP_DB, x);
}

/** The 6:1:1 weighted PSNR of one frame (JCT-VC practice for 4:2:0): (6·Y + U + V) / 8. */
export function psnrYuv(y: number, u: number, v: number): number {
  return (6 * y + u + v) / 8;
}

/** Per-frame columns of one segment, aligned: index i of each is the same frame. */
export interface FrameScores {
  vmaf?: number[];
  psnrY?: number[];
  psnrU?: number[];
  psnrV?: number[];
  ssim?: number[];
}

export const SCORE_COLUMNS = ['vmaf', 'psnrY', 'psnrU', 'psnrV', 'ssim'] as const;

/** Joins segments (in frame order) into whole-input columns; a column some segment lacks is dropped. */
export function joinSegments(segments: readonly FrameScores[]): FrameScores {
  const out: FrameScores = {};
  for (const col of SCORE_COLUMNS) {
    if (segments.length === 0 || segments.some((s) => !s[col])) continue;
    out[col] = segments.flatMap((s) => s[col]!);
  }
  return out;
}
