/**
 * Rungs along the hull. The bottom rung is the best quality at the lowest
 * bitrate the window allows; the top is the cheapest encode that reaches the
 * quality cap (or the best within maxKbps when nothing reaches it); the rungs
 * between are spaced evenly in quality, at least `minStep` apart, each the
 * cheapest single encode that reaches its target — on the hull wherever the
 * hull follows a curve, and just under it across a hull edge that joins two
 * resolutions (no single encode lies on such an edge). Going up, bitrate and
 * quality rise strictly and the resolution never falls. CRFs are then moved
 * to the encoder's grid, with bitrate and quality predicted at the CRF itself.
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
 * minKbps–maxKbps; `grid` moves each CRF onto the encoder's values. Empty when no curve meets the
 * window. Pure.
 */
export function chooseRungs(curves: readonly RateQualityCurve[], c: RungConstraints, grid?: CrfGrid): RungChoice {
  const w: KbpsWindow = { min: c.minKbps, max: c.maxKbps };
  const usable = curves.filter((curve) => curve.domain(w));
  const notes: string[] = [];
  if (!usable.length) return { rungs: [], notes: [`no curve has measurements between ${c.minKbps} and ${c.maxKbps} kb/s`] };
  const env = new Envelope(usable, w);

  const bottom = env.bestWithin(Math.min(...usable.map((u) => u.domain(w)!.min)))!;
  const best = env.bestWithin(w.max)!;
  const qTop = Math.min(c.qualityCap, best.quality);
  if (best.quality < c.qualityCap) notes.push(`the hull tops out at ${round(best.quality)} within ${c.maxKbps} kb/s, under the cap ${c.qualityCap}`);
  if (bottom.quality >= c.qualityCap) notes.push(`the cheapest encode in range already reaches the cap (${round(bottom.quality)} at ${Math.round(bottom.kbps)} kb/s): one rung`);

  const span = qTop - bottom.quality;
  let n = span <= EPS ? 1 : Math.min(c.rungs, c.minStep > 0 ? Math.floor(span / c.minStep + EPS) + 1 : c.rungs);
  if (n < c.rungs && span > EPS) notes.push(`${n} rung(s), not ${c.rungs}: the hull spans ${round(bottom.quality)}–${round(qTop)} in range, and rungs are at least ${c.minStep} apart`);

  const picks: Pick[] = [];
  if (n <= 1) {
    picks.push(env.cheapestReaching(qTop) ?? bottom);
  } else {
    picks.push(bottom);
    while (picks.length < n) {
      const prev = picks[picks.length - 1]!;
      const left = n - picks.length;
      let next: Pick | null;
      if (left === 1) {
        next = env.cheapestReaching(qTop, prev.curve) ?? env.bestWithin(w.max, prev.curve);
      } else {
        const target = prev.quality + Math.max(c.minStep, (qTop - prev.quality) / left);
        next = env.cheapestReaching(target, prev.curve);
        // A curve that starts above its target can leave too little room for the top: go to the top instead.
        if (next && qTop - next.quality < c.minStep - EPS) next = null;
      }
      if (!next || next.quality < prev.quality + c.minStep - EPS || next.kbps <= prev.kbps || (c.minStep === 0 && next.quality <= prev.quality)) {
        if (left === 1) {
          notes.push(`the top rung could not be placed ${c.minStep} above ${round(prev.quality)} on a resolution at least ${prev.curve.label}`);
          break;
        }
        n--;
        continue;
      }
      picks.push(next);
    }
  }
  const placed = grid ? onGrid(picks, grid, c, w, notes) : picks;
  return { rungs: placed.map(({ curve: _curve, ...p }) => p), notes };
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
 * Moves each rung's CRF to the grid (down or up one step, whichever is nearer and keeps the rules),
 * re-predicting bitrate and quality at that CRF. The top is placed first, at or under the cap; the
 * others bottom-up against the one below and the top. A rung no grid CRF can place is dropped.
 */
function onGrid(picks: readonly Pick[], grid: CrfGrid, c: RungConstraints, w: KbpsWindow, notes: string[]): Pick[] {
  const options = (p: Pick): Pick[] => {
    const lo = Math.max(grid.min, Math.floor(p.crf / grid.step + EPS) * grid.step);
    const hi = Math.min(grid.max, Math.ceil(p.crf / grid.step - EPS) * grid.step);
    return [...new Set([lo, hi].map((x) => Number(x.toFixed(6))))]
      .map((crf) => ({ crf, kbps: p.curve.kbpsAtCrf(crf, w) }))
      .filter((o): o is { crf: number; kbps: number } => o.kbps !== null)
      .map((o) => ({ ...p, crf: o.crf, kbps: o.kbps, quality: p.curve.qualityAt(o.kbps) }))
      .sort((a, b) => Math.abs(a.crf - p.crf) - Math.abs(b.crf - p.crf));
  };
  const top = picks[picks.length - 1]!;
  const capLimit = Math.max(c.qualityCap, picks[0]!.quality);
  const topOptions = options(top);
  const placedTop = topOptions.find((o) => o.quality <= capLimit + EPS) ?? topOptions[0];
  if (!placedTop) {
    notes.push(`no ${grid.step}-step CRF keeps the top rung (${top.curve.label}) inside the measured range`);
    return [];
  }
  const out: Pick[] = [];
  for (const p of picks.slice(0, -1)) {
    const prev = out[out.length - 1];
    const fits = (o: Pick) =>
      o.quality <= capLimit + EPS &&
      placedTop.quality - o.quality >= c.minStep - EPS &&
      o.kbps < placedTop.kbps &&
      (!prev || (o.quality - prev.quality >= c.minStep - EPS && o.quality > prev.quality && o.kbps > prev.kbps));
    const placed = options(p).find(fits);
    if (placed) out.push(placed);
    else notes.push(`the ${p.curve.label} rung at ${Math.round(p.kbps)} kb/s was dropped: no ${grid.step}-step CRF keeps it ${c.minStep} from its neighbours`);
  }
  out.push(placedTop);
  return out;
}

const round = (x: number) => Math.round(x * 100) / 100;
