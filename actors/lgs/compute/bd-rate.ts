/**
 * Bjøntegaard deltas between two rate–quality curves, the way the JCTVC/AOM
 * `bdrate` scripts compute them with piecewise cubic interpolation: log10
 * rate as a PCHIP function of quality for each curve, integrated exactly over
 * the quality range both cover; the mean log difference is the rate saving.
 * `bdQuality` is the dual (BD-PSNR / BD-VMAF): quality over log10 rate.
 */
import { ErrorCodes, VpipeError } from '../../../runtime/core/mod.js';
import { Pchip } from './pchip.js';

export interface RatePoint {
  kbps: number;
  quality: number;
}

/**
 * The average bitrate difference of `test` against `anchor` at equal quality, in percent: negative
 * when test needs fewer bits (−20 = a fifth saved). Throws BAD_REQUEST for fewer than 2 points a curve,
 * a rate that is not positive, a quality given twice, or curves whose qualities do not overlap.
 */
export function bdRate(anchor: readonly RatePoint[], test: readonly RatePoint[]): number {
  const [a, t] = [checked(anchor, 'anchor'), checked(test, 'test')];
  const fit = (pts: RatePoint[], name: string) => interpolant(pts, (p) => p.quality, (p) => Math.log10(p.kbps), name, 'quality');
  const [fa, ft] = [fit(a, 'anchor'), fit(t, 'test')];
  const [lo, hi] = overlap(fa, ft, 'quality');
  const meanDiff = (ft.integral(lo, hi) - fa.integral(lo, hi)) / (hi - lo);
  return (10 ** meanDiff - 1) * 100;
}

/** The average quality difference of `test` against `anchor` at equal bitrate (positive: test is better). Throws as bdRate does. */
export function bdQuality(anchor: readonly RatePoint[], test: readonly RatePoint[]): number {
  const [a, t] = [checked(anchor, 'anchor'), checked(test, 'test')];
  const fit = (pts: RatePoint[], name: string) => interpolant(pts, (p) => Math.log10(p.kbps), (p) => p.quality, name, 'bitrate');
  const [fa, ft] = [fit(a, 'anchor'), fit(t, 'test')];
  const [lo, hi] = overlap(fa, ft, 'bitrate');
  return (ft.integral(lo, hi) - fa.integral(lo, hi)) / (hi - lo);
}

function checked(pts: readonly RatePoint[], name: string): RatePoint[] {
  if (pts.length < 2) throw bad(`the ${name} curve has ${pts.length} point(s); BD-rate needs at least 2`);
  for (const p of pts) {
    if (!(p.kbps > 0) || !Number.isFinite(p.kbps) || !Number.isFinite(p.quality)) throw bad(`the ${name} curve has a point that is not a positive rate with a finite quality (${p.kbps} kb/s, ${p.quality})`);
  }
  return [...pts];
}

function interpolant(pts: RatePoint[], x: (p: RatePoint) => number, y: (p: RatePoint) => number, name: string, axis: string): Pchip {
  const sorted = pts.sort((p, q) => x(p) - x(q));
  for (let i = 1; i < sorted.length; i++) {
    if (x(sorted[i]!) === x(sorted[i - 1]!)) throw bad(`the ${name} curve has two points at the same ${axis}; each ${axis} once`);
  }
  return new Pchip(sorted.map(x), sorted.map(y));
}

function overlap(a: Pchip, t: Pchip, axis: string): [number, number] {
  const lo = Math.max(a.min, t.min);
  const hi = Math.min(a.max, t.max);
  if (!(hi > lo)) {
    const span = (p: Pchip) => `${p.min.toFixed(2)}–${p.max.toFixed(2)}`;
    throw bad(`the curves do not overlap in ${axis === 'bitrate' ? 'log10 bitrate' : 'quality'} (anchor ${span(a)}, test ${span(t)}): no Bjøntegaard delta`);
  }
  return [lo, hi];
}

const bad = (message: string) => new VpipeError(ErrorCodes.BadRequest, `bd-rate: ${message}`);
