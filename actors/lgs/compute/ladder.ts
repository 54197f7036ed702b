/**
 * The whole ladder from CAS's points: curves per resolution, the ones a rung
 * may use (no taller than maxHeight, no larger than the source), their hull
 * inside the bitrate window, the rungs, and each rung's recipe. Pure.
 */
import { ErrorCodes, VpipeError } from '../../../runtime/core/mod.js';
import { LADDER_DEFAULTS, type LadderConstraints, type LadderMetric, type LadderResult, PSNR_LADDER, type QualityValue } from '../../../schemas/lgs.js';
import type { DeliveryCodec as Codec } from '../../../schemas/ves.js';
import { buildCurves, type QualityPoint, type RateQualityCurve } from './curve.js';
import { upperHull } from './hull.js';
import { CRF_GRID, type EncoderSettings, rungRecipe, vbvFor } from './recipe.js';
import { chooseRungs } from './rungs.js';

export type ResolvedConstraints = LadderResult['constraints'];

/** The request's constraints with defaults filled in, in the metric's units (PSNR: see PSNR_LADDER). */
export function resolveConstraints(req: LadderConstraints | undefined, metric: LadderMetric, source: { height: number }): ResolvedConstraints {
  const minStep = req?.minStep ?? LADDER_DEFAULTS.minStep;
  const base = {
    rungs: req?.rungs ?? LADDER_DEFAULTS.rungs,
    minKbps: req?.minKbps ?? LADDER_DEFAULTS.minKbps,
    maxKbps: req?.maxKbps ?? LADDER_DEFAULTS.maxKbps,
    maxHeight: Math.min(req?.maxHeight ?? source.height, source.height),
    minKbpsRatio: req?.minKbpsRatio ?? LADDER_DEFAULTS.minKbpsRatio,
  };
  if (metric === 'vmaf') return { ...base, qualityCap: req?.qualityCap ?? LADDER_DEFAULTS.qualityCap, minStep };
  return { ...base, qualityCap: req?.psnr?.capDb ?? PSNR_LADDER.capDb, minStep: req?.psnr?.minStepDb ?? minStep * PSNR_LADDER.dbPerVmafPoint };
}

export interface LadderInput {
  codec: Codec;
  metric: LadderMetric;
  /** CAS's trial encodes, quality in `metric`. */
  points: readonly QualityPoint[];
  /** The source's display size. */
  source: { width: number; height: number };
  constraints: ResolvedConstraints;
  encoder?: EncoderSettings;
  analysis: LadderResult['analysis'];
  notes?: string[];
}

/** Builds the ladder; throws BAD_REQUEST when no curve can carry a rung (all too large, or none measured inside the window). */
export function buildLadder(input: LadderInput): LadderResult {
  const c = input.constraints;
  const { curves, skipped } = buildCurves(input.points);
  const excludedBy = (curve: RateQualityCurve): string | undefined => {
    if (curve.width > input.source.width || curve.height > input.source.height) return `larger than the source (${input.source.width}x${input.source.height})`;
    if (curve.height > c.maxHeight) return `taller than maxHeight ${c.maxHeight}`;
    if (!curve.domain({ min: c.minKbps, max: c.maxKbps })) return `no measurement between ${c.minKbps} and ${c.maxKbps} kb/s`;
    return undefined;
  };
  const usable = curves.filter((curve) => !excludedBy(curve));
  if (!usable.length) {
    const why = [...curves.map((curve) => `${curve.label}: ${excludedBy(curve)}`), ...skipped.map((s) => `${s.width}x${s.height}: ${s.reason}`)];
    throw new VpipeError(ErrorCodes.BadRequest, `no resolution CAS measured can carry a rung (${why.join('; ') || 'CAS returned no points'})`, {
      details: why.map((message) => ({ path: 'constraints', message })),
    });
  }
  const window = { min: c.minKbps, max: c.maxKbps };
  const hull = upperHull(usable, window);
  const choice = chooseRungs(usable, c, CRF_GRID[input.codec]);
  const q = (quality: number): QualityValue => ({ [input.metric]: round(quality, 2) });
  const wirePoint = (p: QualityPoint) => ({ kbps: round(p.kbps, 1), width: p.width, height: p.height, crf: round(p.crf, 2), ...q(p.quality) });
  return {
    metric: input.metric,
    rungs: choice.rungs.map((r) => ({
      width: r.width,
      height: r.height,
      kbps: Math.round(r.kbps),
      predicted: q(r.quality),
      crf: r.crf,
      recipe: rungRecipe(input.codec, r.width, r.height, r.crf, input.encoder, vbvFor(r.kbps)),
      vbv: vbvFor(r.kbps),
    })),
    hull: hull.map((p) => ({ ...wirePoint(p), trialEncode: p.measured })),
    curves: [
      ...curves.map((curve) => {
        const why = excludedBy(curve);
        return {
          width: curve.width,
          height: curve.height,
          used: !why,
          ...(why ? { excludedBy: why } : {}),
          points: curve.points.map(wirePoint),
          dropped: curve.dropped.map((d) => ({ ...wirePoint(d), reason: d.reason })),
        };
      }),
      ...skipped.map((s) => ({ width: s.width, height: s.height, used: false, excludedBy: s.reason, points: [], dropped: s.dropped.map((d) => ({ ...wirePoint(d), reason: d.reason })) })),
    ],
    constraints: c,
    source: input.source,
    analysis: input.analysis,
    notes: [...(input.notes ?? []), ...choice.notes],
  };
}

const round = (x: number, digits: number) => Number(x.toFixed(digits));
