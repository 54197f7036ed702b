/**
 * One rate–quality curve per resolution, from CAS's trial encodes: quality
 * and CRF as PCHIP functions of log bitrate between the measured points,
 * never beyond them. Measurements that would make a curve non-monotone are
 * dropped and said why: more bits for no more quality (a dominated point), or
 * a CRF out of order with its bitrate.
 */
import { Pchip, solveMonotone } from './pchip.js';

/** One trial encode: a resolution and CRF, its bitrate and its quality (VMAF, or the ladder's metric). */
export interface QualityPoint {
  width: number;
  height: number;
  crf: number;
  kbps: number;
  quality: number;
}

export interface DroppedPoint extends QualityPoint {
  reason: string;
}

/** A bitrate window in kb/s (the ladder's minKbps–maxKbps). */
export interface KbpsWindow {
  min: number;
  max: number;
}

export class RateQualityCurve {
  private readonly quality: Pchip;
  private readonly crf: Pchip;

  /** `points`: at least 2, kbps and quality strictly rising, CRF strictly falling (what `buildCurves` keeps). */
  constructor(
    readonly width: number,
    readonly height: number,
    readonly points: readonly QualityPoint[],
    readonly dropped: readonly DroppedPoint[] = [],
  ) {
    const x = points.map((p) => Math.log(p.kbps));
    this.quality = new Pchip(x, points.map((p) => p.quality));
    this.crf = new Pchip(x, points.map((p) => p.crf));
  }

  get label(): string {
    return `${this.width}x${this.height}`;
  }

  get minKbps(): number {
    return this.points[0]!.kbps;
  }

  get maxKbps(): number {
    return this.points[this.points.length - 1]!.kbps;
  }

  /** The measured range cut to `w`; null when they do not meet. */
  domain(w?: KbpsWindow): KbpsWindow | null {
    const min = Math.max(this.minKbps, w?.min ?? 0);
    const max = Math.min(this.maxKbps, w?.max ?? Infinity);
    return min <= max ? { min, max } : null;
  }

  /** Predicted quality at `kbps` (inside the measured range; outside it extends the end piece, so check `domain` first). */
  qualityAt(kbps: number): number {
    return this.quality.at(Math.log(kbps));
  }

  crfAt(kbps: number): number {
    return this.crf.at(Math.log(kbps));
  }

  /** The lowest bitrate in `w` where the curve reaches quality q; null when it does not reach q there (or starts above it). */
  kbpsAtQuality(q: number, w?: KbpsWindow): number | null {
    const d = this.domain(w);
    if (!d) return null;
    const x = solveMonotone((lk) => this.quality.at(lk), q, Math.log(d.min), Math.log(d.max));
    return x === null ? null : Math.exp(x);
  }

  /** The bitrate this CRF is predicted to give, inside `w`; null outside the measured CRF range. */
  kbpsAtCrf(crf: number, w?: KbpsWindow): number | null {
    const d = this.domain(w);
    if (!d) return null;
    const x = solveMonotone((lk) => this.crf.at(lk), crf, Math.log(d.min), Math.log(d.max));
    return x === null ? null : Math.exp(x);
  }

  /** `n` points evenly spaced in log bitrate across the curve's range in `w`, plus the measured points inside it. */
  sample(n: number, w?: KbpsWindow): QualityPoint[] {
    const d = this.domain(w);
    if (!d) return [];
    const [a, b] = [Math.log(d.min), Math.log(d.max)];
    // The ends exactly (exp(log(x)) can land a hair outside the window).
    const at = (i: number) => (i === 0 && n > 1 ? d.min : i === n - 1 ? d.max : Math.exp(a + ((b - a) * i) / (n - 1)));
    const out = Array.from({ length: n }, (_, i) => this.pointAt(at(i)));
    for (const p of this.points) if (p.kbps > d.min && p.kbps < d.max) out.push(p);
    return out.sort((p, q) => p.kbps - q.kbps);
  }

  /** The interpolated encode at `kbps` (a measured point where there is one). */
  pointAt(kbps: number): QualityPoint {
    const measured = this.points.find((p) => Math.abs(p.kbps - kbps) <= 1e-9 * kbps);
    return measured ?? { width: this.width, height: this.height, kbps, quality: this.qualityAt(kbps), crf: this.crfAt(kbps) };
  }
}

export interface CurveSet {
  /** Resolutions with a usable curve, smallest first. */
  curves: RateQualityCurve[];
  /** Resolutions left out (fewer than 2 usable points), with their points. */
  skipped: { width: number; height: number; reason: string; dropped: DroppedPoint[] }[];
}

/**
 * Groups trial encodes by resolution and keeps, per resolution, the monotone
 * frontier: walking up in bitrate, a point stays only if it beats every
 * cheaper point's quality (else no ladder would ever pick it) and its CRF is
 * below the last kept one's. Pure; never throws.
 */
export function buildCurves(points: readonly QualityPoint[]): CurveSet {
  const groups = new Map<string, QualityPoint[]>();
  for (const p of points) {
    const key = `${p.width}x${p.height}`;
    groups.set(key, [...(groups.get(key) ?? []), p]);
  }
  const out: CurveSet = { curves: [], skipped: [] };
  for (const group of groups.values()) {
    const { kept, dropped } = monotoneFrontier(group);
    const { width, height } = group[0]!;
    if (kept.length >= 2) out.curves.push(new RateQualityCurve(width, height, kept, dropped));
    else out.skipped.push({ width, height, reason: `${kept.length} usable point(s); a curve needs 2`, dropped: [...dropped, ...kept.map((p) => ({ ...p, reason: 'alone: a curve needs 2 usable points' }))] });
  }
  out.curves.sort((a, b) => a.height - b.height || a.width - b.width);
  return out;
}

function monotoneFrontier(group: readonly QualityPoint[]): { kept: QualityPoint[]; dropped: DroppedPoint[] } {
  const kept: QualityPoint[] = [];
  const dropped: DroppedPoint[] = [];
  const valid = group.filter((p) => {
    const ok = [p.kbps, p.quality, p.crf].every(Number.isFinite) && p.kbps > 0;
    if (!ok) dropped.push({ ...p, reason: 'not a finite measurement' });
    return ok;
  });
  // Cheapest first; at equal bitrates the better one first, so the other reads as dominated.
  for (const p of [...valid].sort((a, b) => a.kbps - b.kbps || b.quality - a.quality)) {
    const last = kept[kept.length - 1];
    if (last && p.quality <= last.quality) {
      dropped.push({ ...p, reason: `dominated: CRF ${last.crf} gives ${fmt(last.quality)} at ${fmt(last.kbps)} kb/s, this gives ${fmt(p.quality)} at ${fmt(p.kbps)} kb/s` });
    } else if (last && p.crf >= last.crf) {
      dropped.push({ ...p, reason: `CRF out of order: CRF ${p.crf} gives more bits than CRF ${last.crf}` });
    } else {
      kept.push(p);
    }
  }
  return { kept, dropped };
}

const fmt = (x: number) => String(Math.round(x * 100) / 100);
