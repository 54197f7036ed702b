/**
 * Rungs along the hull. The bottom rung is the best quality at the lowest
 * bitrate the window allows; the top is the cheapest encode that reaches the
 * quality cap (or the best within maxKbps when nothing reaches it); the rungs
 * between are spaced evenly in quality, at least `minStep` apart and
 * `minKbpsRatio` times the bitrate below, each the cheapest single encode
 * that reaches its target — on the hull wherever the hull follows a curve,
 * and just under it across a hull edge that joins two resolutions (no
 * single encode lies on such an edge). Going up, bitrate and
 * quality rise strictly and the resolution never falls. Each rung's CRF is
 * put on the encoder's grid as it is placed, with bitrate and quality
 * predicted at that CRF, so the next rung is spaced from what will be encoded.
 */
import type { KbpsWindow, QualityPoint, RateQualityCurve } from './curve.js';
import type { CrfGrid } from './recipe.js';

/** Constraints in the ladder metric's units, defaults applied. */
export interface RungConstraints {
  rungs: number;
  minKbps: number;
  maxKbps: number;
  qualityCap: number;
  minStep: number;
  /** Each rung at least this many times the bitrate of the one below. */
  minKbpsRatio: number;
}

/** A chosen encode: the curve it lies on and the point on it. */
interface Pick extends QualityPoint {
  curve: RateQualityCurve;
}

export interface RungChoice {
  rungs: QualityPoint[];
  notes: string[];
}

/** Tolerance for comparisons of predicted qualities (they come out of bisections). */
const EPS = 1e-6;

/** Whether b's resolution is at least a's on both axes (resolutions never fall going up). */
const notSmaller = (a: RateQualityCurve, b: RateQualityCurve) => b.width >= a.width && b.height >= a.height;

/**
 * Chooses rungs on `curves` (those a rung may use: already cut to the source and maxHeight) inside
 * minKbps–maxKbps; `grid` puts each CRF on the encoder's values as the rung is placed. Empty when no
 * curve meets the window. Pure.
 */
export function chooseRungs(curves: readonly RateQualityCurve[], c: RungConstraints, grid?: CrfGrid): RungChoice {
  const w: KbpsWindow = { min: c.minKbps, max: c.maxKbps };
  const usable = curves.filter((curve) => curve.domain(w));
  const notes: string[] = [];
  if (!usable.length) return { rungs: [], notes: [`no curve has measurements between ${c.minKbps} and ${c.maxKbps} kb/s`] };
  const env = new Envelope(usable, w);
  const apart = spacing(c);
  const snap = onGrid(grid, w);

  const bottom = env.bestWithin(Math.min(...usable.map((u) => u.domain(w)!.min)))!;
  const best = env.bestWithin(w.max)!;
  const qTop = Math.min(c.qualityCap, best.quality);
  if (best.quality < c.qualityCap) notes.push(`the hull tops out at ${round(best.quality)} within ${c.maxKbps} kb/s, under the cap ${c.qualityCap}`);
  if (bottom.quality >= c.qualityCap) notes.push(`the cheapest encode in range already reaches the cap (${round(bottom.quality)} at ${Math.round(bottom.kbps)} kb/s): one rung`);
  // The cap, or the cheapest encode in range where even that is past it.
  const underCap = (o: Pick) => o.quality <= Math.max(c.qualityCap, bottom.quality) + EPS;
  /** The top rung above `below` (resolution at least its), on the grid; alone, whatever CRF the grid gives. */
  const topOf = (below?: Pick): Pick | null => {
    const t = env.cheapestReaching(qTop, below?.curve) ?? env.bestWithin(w.max, below?.curve);
    if (!t) return null;
    return snap(t, (o) => underCap(o) && (!below || apart(below, o))) ?? (below ? null : snap(t, () => true));
  };

  const span = qTop - bottom.quality;
  let n = span <= EPS ? 1 : Math.min(c.rungs, c.minStep > 0 ? Math.floor(span / c.minStep + EPS) + 1 : c.rungs);
  if (n < c.rungs && span > EPS) notes.push(`${n} rung(s), not ${c.rungs}: the hull spans ${round(bottom.quality)}–${round(qTop)} in range, and rungs are at least ${c.minStep} apart`);

  const planned = n;
  // Bottom, then the rungs between, each aimed at an even share of the quality still to climb.
  const first = n > 1 ? snap(bottom, underCap) : null;
  const picks: Pick[] = first ? [first] : [];
  const roughTop = topOf();
  while (picks.length && picks.length < n - 1) {
    const prev = picks[picks.length - 1]!;
    const target = prev.quality + Math.max(c.minStep, (qTop - prev.quality) / (n - picks.length));
    let next = env.cheapestReaching(target, prev.curve);
    // Too close in bitrate: the best encode at the least bitrate allowed instead (it has more quality).
    if (next && next.kbps < prev.kbps * c.minKbpsRatio) next = env.bestWithin(prev.kbps * c.minKbpsRatio, prev.curve);
    const placed = next && snap(next, (o) => underCap(o) && apart(prev, o) && (!roughTop || apart(o, roughTop)));
    if (placed) picks.push(placed);
    else n--; // no room for it: one rung fewer
  }
  // The top; a rung below that leaves it no room gives way to it.
  let top = topOf(picks[picks.length - 1]);
  while (picks.length && !top) {
    const gone = picks.pop()!;
    notes.push(`the ${gone.curve.label} rung at ${Math.round(gone.kbps)} kb/s gave way to the top rung (closer than ${c.minStep} or ${c.minKbpsRatio}x)`);
    top = topOf(picks[picks.length - 1]);
  }
  if (top) picks.push(top);
  if (picks.length < planned) notes.push(`${picks.length} rung(s), not ${planned}: no room for more at least ${c.minStep} and ${c.minKbpsRatio}x apart`);
  return { rungs: picks.map(({ curve: _curve, ...p }) => p), notes };
}

/** Whether b may follow a going up: more bits (by minKbpsRatio) and more quality (by minStep). */
function spacing(c: RungConstraints) {
  return (a: QualityPoint, b: QualityPoint) => b.quality > a.quality && b.quality - a.quality >= c.minStep - EPS && b.kbps > a.kbps && b.kbps >= a.kbps * c.minKbpsRatio * (1 - 1e-9);
}

/** The best single encodes: per bitrate budget, per quality target, over the usable curves. */
class Envelope {
  constructor(
    private readonly curves: readonly RateQualityCurve[],
    private readonly w: KbpsWindow,
  ) {}

  /** The best quality at a bitrate ≤ budget, on resolutions at least `floor`'s; null when none starts within budget. */
  bestWithin(budget: number, floor?: RateQualityCurve): Pick | null {
    let out: Pick | null = null;
    for (const curve of this.eligible(floor)) {
      const d = curve.domain(this.w)!;
      if (d.min > budget) continue;
      const p = curve.pointAt(Math.min(budget, d.max));
      if (!out || p.quality > out.quality + EPS || (Math.abs(p.quality - out.quality) <= EPS && p.kbps < out.kbps)) out = { ...p, curve };
    }
    return out;
  }

  /** The cheapest encode reaching quality q (a curve that starts above q gives its first point); null when none reaches q. */
  cheapestReaching(q: number, floor?: RateQualityCurve): Pick | null {
    let out: Pick | null = null;
    for (const curve of this.eligible(floor)) {
      const d = curve.domain(this.w)!;
      const kbps = curve.qualityAt(d.min) >= q ? d.min : curve.kbpsAtQuality(q, this.w);
      if (kbps === null) continue;
      const p = curve.pointAt(kbps);
      if (!out || p.kbps < out.kbps || (p.kbps === out.kbps && p.quality > out.quality)) out = { ...p, curve };
    }
    return out;
  }

  private eligible(floor?: RateQualityCurve): RateQualityCurve[] {
    return floor ? this.curves.filter((c) => notSmaller(floor, c)) : [...this.curves];
  }
}

/**
 * Puts a pick's CRF on the grid: one step down or up, the nearer first, the first that keeps `ok`,
 * with bitrate and quality predicted again at that CRF on its curve (inside the window); null when
 * neither does. Without a grid, the pick itself if it keeps `ok`.
 */
function onGrid(grid: CrfGrid | undefined, w: KbpsWindow) {
  return (p: Pick, ok: (o: Pick) => boolean): Pick | null => {
    if (!grid) return ok(p) ? p : null;
    const lo = Math.max(grid.min, Math.floor(p.crf / grid.step + EPS) * grid.step);
    const hi = Math.min(grid.max, Math.ceil(p.crf / grid.step - EPS) * grid.step);
    const options = [...new Set([lo, hi].map((x) => Number(x.toFixed(6))))].sort((a, b) => Math.abs(a - p.crf) - Math.abs(b - p.crf));
    for (const crf of options) {
      const kbps = p.curve.kbpsAtCrf(crf, w);
      if (kbps === null) continue;
      const o = { ...p, crf, kbps, quality: p.curve.qualityAt(kbps) };
      if (ok(o)) return o;
    }
    return null;
  };
}

const round = (x: number) => Math.round(x * 100) / 100;
