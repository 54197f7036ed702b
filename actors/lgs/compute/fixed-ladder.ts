/**
 * Fixed ladders to hold a per-title ladder against: Apple's HLS authoring
 * specification's H.264 ladder, and where its rungs would land on a title's
 * own curves.
 */
import type { FixedRung } from '../../../schemas/lgs.js';
import type { RateQualityCurve } from './curve.js';

export { APPLE_LADDER, type FixedRung } from '../../../schemas/lgs.js';

/** The rungs no larger than the source on either axis (a fixed ladder never upscales). */
export function fixedLadderFor(ladder: readonly FixedRung[], source: { width: number; height: number }): FixedRung[] {
  return ladder.filter((r) => r.width <= source.width && r.height <= source.height);
}

export interface PredictedFixedRung extends FixedRung {
  /** Predicted quality, null where no curve (or pair of curves) covers the rung's bitrate. */
  quality: number | null;
  /** `curve`: its own resolution was measured; `between`: interpolated in log pixel count between the nearest measured sizes around it. */
  predictedBy: 'curve' | 'between' | null;
}

/** Each rung's quality read off the curves, never extrapolated beyond a curve's measured bitrates or the measured sizes. */
export function predictFixedLadder(curves: readonly RateQualityCurve[], ladder: readonly FixedRung[]): PredictedFixedRung[] {
  return ladder.map((r) => {
    const covering = curves.filter((c) => c.minKbps <= r.kbps && r.kbps <= c.maxKbps);
    const own = covering.find((c) => c.width === r.width && c.height === r.height);
    if (own) return { ...r, quality: own.qualityAt(r.kbps), predictedBy: 'curve' as const };
    const pixels = r.width * r.height;
    const below = covering.filter((c) => c.width * c.height < pixels).sort((a, b) => b.width * b.height - a.width * a.height)[0];
    const above = covering.filter((c) => c.width * c.height > pixels).sort((a, b) => a.width * a.height - b.width * b.height)[0];
    if (!below || !above) return { ...r, quality: null, predictedBy: null };
    const t = Math.log(pixels / (below.width * below.height)) / Math.log((above.width * above.height) / (below.width * below.height));
    const quality = below.qualityAt(r.kbps) + t * (above.qualityAt(r.kbps) - below.qualityAt(r.kbps));
    return { ...r, quality, predictedBy: 'between' as const };
  });
}
