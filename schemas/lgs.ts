/**
 * LGS — the Ladder Generation Service: a source and a codec in, a bitrate
 * ladder out, built from CAS's trial encodes (rate–quality curves per
 * resolution, their upper convex hull, rungs along it), each rung a VES recipe.
 */
import { z } from 'zod';
import { MediaRef, Priority } from './common.js';
import { DeliveryCodec as Codec, Recipe } from './ves.js';

/** The metric a ladder is built on: VMAF, or PSNR (luma, dB) when CAS had no VMAF and the request allowed it. */
export const LADDER_METRICS = ['vmaf', 'psnr'] as const;
export const LadderMetric = z.enum(LADDER_METRICS);
export type LadderMetric = z.infer<typeof LadderMetric>;

/**
 * Constraint defaults: 6 rungs over 150–8000 kb/s, one JND (≈ 6 VMAF) and 1.25× in bitrate apart, none
 * past VMAF 95; maxHeight defaults to the source's. Rungs closer than 1.25× give a player no real choice
 * (on a steep curve one JND can cost a few per cent of bitrate); Apple's authoring spec asks 1.5–2×.
 */
export const LADDER_DEFAULTS = { rungs: 6, minKbps: 150, maxKbps: 8000, qualityCap: 95, minStep: 6, minKbpsRatio: 1.25 } as const;

/**
 * A PSNR ladder's units. `minStep` (VMAF points) converts at 0.25 dB a point (6 VMAF → 1.5 dB): the
 * slope of VMAF against luma PSNR over ~35–45 dB on typical 8-bit encodes is about 4 points a dB.
 * An absolute VMAF cap has no PSNR equivalent, so the PSNR cap is its own (45 dB by default, where
 * more bits stop buying visible quality on 8-bit content), set with `constraints.psnr.capDb`.
 */
export const PSNR_LADDER = { dbPerVmafPoint: 0.25, capDb: 45 } as const;

/** A rung of a fixed ladder: a size and an average video bitrate (kb/s). */
export interface FixedRung {
  width: number;
  height: number;
  kbps: number;
}

/**
 * The HLS authoring specification's 16:9 H.264 ladder (Apple, video average bit rates), cheapest first:
 * what LGS holds per-title ladders against, and the streaming orchestrator's `fixed` ladder.
 */
export const APPLE_LADDER: readonly FixedRung[] = Object.freeze([
  { width: 416, height: 234, kbps: 145 },
  { width: 640, height: 360, kbps: 365 },
  { width: 768, height: 432, kbps: 730 },
  { width: 768, height: 432, kbps: 1100 },
  { width: 960, height: 540, kbps: 2000 },
  { width: 1280, height: 720, kbps: 3000 },
  { width: 1280, height: 720, kbps: 4500 },
  { width: 1920, height: 1080, kbps: 6000 },
  { width: 1920, height: 1080, kbps: 7800 },
]);

export const LadderConstraints = z
  .strictObject({
    rungs: z.number().int().min(1).max(20).optional(),
    minKbps: z.number().min(16).max(500_000).optional(),
    maxKbps: z.number().min(16).max(500_000).optional(),
    /** No rung taller than this (nor than the source, whatever this says). */
    maxHeight: z.number().int().min(16).max(16384).optional(),
    /** VMAF: no rung predicted above it; the top rung is the cheapest that reaches it, where the hull does. */
    qualityCap: z.number().min(1).max(100).optional(),
    /** VMAF points between adjacent rungs, at least. */
    minStep: z.number().min(0).max(50).optional(),
    /** Each rung's bitrate at least this many times the one below (1: only rising). */
    minKbpsRatio: z.number().min(1).max(4).optional(),
    /** Used only when the ladder ends up on PSNR (see PSNR_LADDER). */
    psnr: z.strictObject({ capDb: z.number().min(10).max(100).optional(), minStepDb: z.number().min(0).max(20).optional() }).optional(),
  })
  .refine((c) => (c.minKbps ?? LADDER_DEFAULTS.minKbps) < (c.maxKbps ?? LADDER_DEFAULTS.maxKbps), { message: 'minKbps must be below maxKbps', path: ['minKbps'] });
export type LadderConstraints = z.infer<typeof LadderConstraints>;

export const LadderRequest = z.strictObject({
  source: MediaRef,
  codec: Codec,
  constraints: LadderConstraints.optional(),
  /** When CAS measured no VMAF (no libvmaf on its nodes): build the ladder on PSNR (the result's `metric` says so) instead of failing with TOOL_MISSING. */
  allowWithoutVmaf: z.boolean().optional(),
  priority: Priority.optional(),
  correlationId: z.string().max(256).optional(),
});
export type LadderRequest = z.infer<typeof LadderRequest>;

/** A quality in the ladder's metric: `{vmaf}` or `{psnr}` (dB), never a PSNR under VMAF's name. */
export const QualityValue = z.strictObject({ vmaf: z.number().optional(), psnr: z.number().optional() });
export type QualityValue = z.infer<typeof QualityValue>;

export const LadderRung = z.strictObject({
  width: z.number().int(),
  height: z.number().int(),
  /** Predicted average bitrate at the recipe's CRF. */
  kbps: z.number(),
  predicted: QualityValue,
  crf: z.number(),
  /** What to submit to VES (`vpipe.ves.encode`) for this rung. */
  recipe: Recipe,
  /**
   * The peak cap meant for this rung (1.5 × kbps, buffer 2 × maxrate: one 2 s GOP at the peak rate).
   * Carried beside the recipe because VES's CRF rate control has no maxrate yet.
   */
  vbv: z.strictObject({ maxrateKbps: z.number().int(), bufsizeKbps: z.number().int() }),
  /** Filled by whoever encodes and measures the rung (the streaming orchestrator); LGS leaves it out. */
  measured: QualityValue.optional(),
});
export type LadderRung = z.infer<typeof LadderRung>;

export const LadderPoint = z.strictObject({
  kbps: z.number(),
  width: z.number().int(),
  height: z.number().int(),
  crf: z.number(),
  vmaf: z.number().optional(),
  psnr: z.number().optional(),
});

export const HullPoint = LadderPoint.extend({
  /** A CAS trial encode (else a point of the interpolated curve). */
  trialEncode: z.boolean(),
});
export type HullPoint = z.infer<typeof HullPoint>;

export const ResolutionCurve = z.strictObject({
  width: z.number().int(),
  height: z.number().int(),
  /** Whether rungs could be placed on it; `excludedBy` says why not. */
  used: z.boolean(),
  excludedBy: z.string().optional(),
  /** The measurements the curve interpolates (kbps rising, quality rising, CRF falling). */
  points: z.array(LadderPoint),
  /** Measurements left out (non-monotone, not finite), each with its reason. */
  dropped: z.array(LadderPoint.extend({ reason: z.string() })),
});
export type ResolutionCurve = z.infer<typeof ResolutionCurve>;

export const LadderResult = z.strictObject({
  metric: LadderMetric,
  /** Cheapest first; bitrate, quality and resolution never fall going up. */
  rungs: z.array(LadderRung),
  /** The upper convex hull in (log kb/s, quality) over the curves rungs could use, inside minKbps–maxKbps. */
  hull: z.array(HullPoint),
  curves: z.array(ResolutionCurve),
  /** The constraints as applied: defaults filled in, in the metric's units (dB for PSNR). */
  constraints: z.strictObject({ rungs: z.number(), minKbps: z.number(), maxKbps: z.number(), maxHeight: z.number(), qualityCap: z.number(), minStep: z.number(), minKbpsRatio: z.number() }),
  source: z.strictObject({ width: z.number().int(), height: z.number().int() }),
  analysis: z.strictObject({ jobId: z.string(), contentHash: z.string(), cached: z.boolean(), points: z.number().int(), cost: z.unknown().optional() }),
  /** What shaped the ladder: fewer rungs than asked, a cap the hull never reaches, the metric fallback. */
  notes: z.array(z.string()),
});
export type LadderResult = z.infer<typeof LadderResult>;
