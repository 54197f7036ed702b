/**
 * The upper convex hull across resolutions in (log kb/s, quality): the best
 * quality any resolution gives at each bitrate, made concave. Each curve is
 * sampled densely along its interpolation, so the hull can switch resolution
 * between measured points; every hull point names the resolution it lies on.
 */
import type { KbpsWindow, QualityPoint, RateQualityCurve } from './curve.js';

export interface HullPoint extends QualityPoint {
  /** A trial encode CAS measured (else a point on the interpolated curve). */
  measured: boolean;
}

/** Samples per curve: a resolution's stretch of the hull is resolved to ~1/48 of its log-bitrate range. */
export const HULL_SAMPLES_PER_CURVE = 48;

/**
 * The hull's vertices, cheapest first, rising strictly in bitrate and quality
 * (the part past the best quality is dominated and cut). Curves are read only
 * inside `w`. Empty when no curve meets `w`. Pure.
 */
export function upperHull(curves: readonly RateQualityCurve[], w?: KbpsWindow, samplesPerCurve = HULL_SAMPLES_PER_CURVE): HullPoint[] {
  const candidates = curves
    .flatMap((c) => c.sample(samplesPerCurve, w).map((p) => ({ ...p, measured: c.points.includes(p) })))
    .sort((a, b) => a.kbps - b.kbps || b.quality - a.quality);
  const hull: HullPoint[] = [];
  for (const p of candidates) {
    // Andrew's monotone chain, upper half: drop the last vertex while it lies on or below the chord to p.
    while (hull.length >= 2 && cross(hull[hull.length - 2]!, hull[hull.length - 1]!, p) >= 0) hull.pop();
    if (hull.length === 1 && p.kbps === hull[0]!.kbps) continue; // same bitrate, lower quality (sorted so)
    hull.push(p);
  }
  let best = 0;
  hull.forEach((p, i) => {
    if (p.quality > hull[best]!.quality) best = i;
  });
  return hull.slice(0, best + 1);
}

/** > 0 when o → a → b turns counter-clockwise in (log kb/s, quality). */
function cross(o: QualityPoint, a: QualityPoint, b: QualityPoint): number {
  const [ox, ax, bx] = [Math.log(o.kbps), Math.log(a.kbps), Math.log(b.kbps)];
  return (ax - ox) * (b.quality - o.quality) - (a.quality - o.quality) * (bx - ox);
}

/** The hull's quality at `kbps` (linear in log kb/s between vertices); null outside it. */
export function hullQualityAt(hull: readonly HullPoint[], kbps: number): number | null {
  if (!hull.length || kbps < hull[0]!.kbps || kbps > hull[hull.length - 1]!.kbps) return null;
  if (hull.length === 1) return hull[0]!.quality;
  const i = Math.max(1, hull.findIndex((p) => p.kbps >= kbps));
  const [a, b] = [hull[i - 1]!, hull[i]!];
  if (b.kbps === a.kbps) return b.quality;
  const t = (Math.log(kbps) - Math.log(a.kbps)) / (Math.log(b.kbps) - Math.log(a.kbps));
  return a.quality + t * (b.quality - a.quality);
}
