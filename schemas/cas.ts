/**
 * CAS — the Complexity Analysis Service: a source and a codec in, the
 * source's rate–quality points over a grid of resolutions × CRFs out,
 * measured on a sample of the title (trial encodes by VES, scores by VQS)
 * and stored once per content, codec, encoder version and settings.
 */
import { z } from 'zod';
import { MediaRef, Priority } from './common.js';
import { CRF_MAX, DeliveryCodec as Codec, SPEED_MAX, X26X_PRESETS } from './ves.js';

/** Bumped when the way an analysis is made changes (sampling, mezzanine, trial recipe): older stored analyses are not reused. */
export const CAS_ANALYSIS_VERSION = 1;

/** Keyframe distance of every trial encode, as the real rungs have it (seconds). */
export const TRIAL_GOP_SECONDS = 2;

export const MAX_GRID_HEIGHTS = 12;
export const MAX_GRID_CRFS = 12;
/** Most grid points (trial encodes) one analysis may ask for. */
export const MAX_GRID_POINTS = 64;

export const Grid = z.strictObject({
  /** Output heights (even, 32–4320); widths follow the source's display aspect ratio. Default: the standard heights up to the source's, and its own. */
  heights: z
    .array(z.number().int().min(32).max(4320).refine((h) => h % 2 === 0, 'an even number (4:2:0)'))
    .min(1)
    .max(MAX_GRID_HEIGHTS)
    .refine((a) => new Set(a).size === a.length, 'each height once')
    .optional(),
  /** Quality settings (CRF; the codec's range: x264/x265 0–51, vp9/av1 0–63). */
  crfs: z
    .array(z.number().int().min(0).max(63))
    .min(1)
    .max(MAX_GRID_CRFS)
    .refine((a) => new Set(a).size === a.length, 'each CRF once')
    .optional(),
  /** x264/x265 preset of the trials (default veryfast). */
  preset: z.enum(X26X_PRESETS).optional(),
  /** vp9 cpu-used / SVT-AV1 preset of the trials (defaults 6 and 10). */
  speed: z.number().int().min(0).max(13).optional(),
});
export type Grid = z.infer<typeof Grid>;

export const Sample = z.strictObject({
  /** Segments spread evenly over the title (default: one per 2 minutes, 3–60). */
  segments: z.number().int().min(1).max(100).optional(),
  /** Seconds per segment (default 4: two trial GOPs). */
  segmentSeconds: z.number().min(0.5).max(60).optional(),
  /** Analyse the whole title instead of a sample (what a title shorter than the sample gets anyway). */
  whole: z.boolean().optional(),
});
export type Sample = z.infer<typeof Sample>;

export const AnalyzeRequest = z
  .strictObject({
    source: MediaRef,
    codec: Codec,
    grid: Grid.optional(),
    /** Per-shot analysis (scene-cut segments): not implemented yet; `true` is refused with BAD_REQUEST. */
    perShot: z.boolean().optional(),
    sample: Sample.optional(),
    /** Default `low`: analyses run behind production encodes; the trial encodes and measurements inherit it. */
    priority: Priority.optional(),
    /** Where VQS has no libvmaf: use PSNR (the result says `metric: "psnr"`) instead of failing with VQS's TOOL_MISSING. */
    allowWithoutVmaf: z.boolean().optional(),
    correlationId: z.string().max(256).optional(),
  })
  .superRefine((r, ctx) => {
    const max = CRF_MAX[r.codec];
    r.grid?.crfs?.forEach((c, i) => {
      if (c > max) ctx.addIssue({ code: 'custom', path: ['grid', 'crfs', i], message: `${r.codec} CRF is 0–${max}` });
    });
    if (r.grid?.preset !== undefined && (r.codec === 'vp9' || r.codec === 'av1')) {
      ctx.addIssue({ code: 'custom', path: ['grid', 'preset'], message: `${r.codec} takes "speed" (a number), not a preset name` });
    }
    const speedMax = SPEED_MAX[r.codec];
    if (r.grid?.speed !== undefined && (speedMax === undefined || r.grid.speed > speedMax)) {
      ctx.addIssue({ code: 'custom', path: ['grid', 'speed'], message: speedMax === undefined ? `${r.codec} takes "preset", not "speed"` : `${r.codec} speed is 0–${speedMax}` });
    }
    const points = (r.grid?.heights?.length ?? 1) * (r.grid?.crfs?.length ?? 1);
    if (points > MAX_GRID_POINTS) ctx.addIssue({ code: 'custom', path: ['grid'], message: `at most ${MAX_GRID_POINTS} grid points (heights × CRFs), got ${points}` });
  });
export type AnalyzeRequest = z.infer<typeof AnalyzeRequest>;

/** One trial: its size and CRF, the sample's bitrate at it, and its scores against the sample mezzanine. */
export const ComplexityPoint = z.strictObject({
  width: z.number().int(),
  height: z.number().int(),
  crf: z.number(),
  /** Trial output bytes × 8 / sampled seconds / 1000 (the MP4 the trial wrote, container included). */
  kbps: z.number(),
  /** VMAF mean (absent when the analysis measured PSNR only: `metric: "psnr"`). */
  vmaf: z.number().optional(),
  /** Luma PSNR mean (dB, capped at 100) and luma SSIM mean. */
  psnr: z.number().optional(),
  ssim: z.number().optional(),
  /** The result's `metric` for this point: VMAF, or PSNR when VMAF was not measured. */
  quality: z.number(),
  bytes: z.number().int(),
  /** Wall seconds of this trial's encode (VES encode stage). */
  encodeSeconds: z.number(),
});
export type ComplexityPoint = z.infer<typeof ComplexityPoint>;

export const AnalysisCost = z.strictObject({
  /** Sum of the trials' encode seconds (VES encode stage of each). */
  trialEncodeSeconds: z.number(),
  /** Sum of the measurements' seconds (each VQS job from submission to result: an upper bound, queueing included). */
  measureSeconds: z.number(),
  /** Cutting the sample mezzanine, and indexing it (VIS). */
  sampleSeconds: z.number(),
  indexSeconds: z.number(),
  /**
   * VIS building the source's own frame index, when it had none (0 when it had): paid once per title and
   * shared with every later job on it (VES needs it for the real encodes), so not part of `multiple`.
   */
  sourceIndexSeconds: z.number(),
  sampledSeconds: z.number(),
  titleSeconds: z.number(),
  /**
   * One plain encode of the title at the source's size and the middle CRF, estimated from that trial's
   * speed scaled to the title's duration (from the largest trial, scaled by pixels, when the grid has
   * no trial at the source's size). An estimate: the benchmark measures it for real.
   */
  plainEncodeSecondsEstimate: z.number(),
  estimateBasis: z.string(),
  /** (trialEncodeSeconds + measureSeconds + sampleSeconds + indexSeconds) / plainEncodeSecondsEstimate. */
  multiple: z.number(),
  /** Wall seconds of the whole analysis, and that over the plain-encode estimate. */
  wallSeconds: z.number(),
  wallMultiple: z.number(),
});
export type AnalysisCost = z.infer<typeof AnalysisCost>;

export const SampleSegment = z.strictObject({ startFrame: z.number().int(), frames: z.number().int(), startSeconds: z.number() });

export const AnalyzeResult = z.strictObject({
  contentHash: z.string(),
  /** True when the answer came from the complexity store (no encode was made for this request). */
  cached: z.boolean(),
  /** The store key: `<contentHash>.<codec>.e<sha256(encoder version), 12 hex>.g<sha256(settings), 16 hex>`. */
  key: z.string(),
  codec: Codec,
  encoder: z.strictObject({ name: z.string(), version: z.string() }),
  /** What `quality` holds: VMAF (libvmaf), or PSNR where VQS had no VMAF and the request allowed going without. */
  metric: z.enum(['vmaf', 'psnr']),
  /** Metrics not measured and why, as VQS says it (VMAF where its metric ffmpeg has no libvmaf). */
  notMeasured: z.array(z.strictObject({ metric: z.string(), reason: z.string() })),
  vmaf: z.strictObject({ model: z.string(), version: z.string() }).optional(),
  source: z.strictObject({ width: z.number().int(), height: z.number().int(), frameRate: z.strictObject({ num: z.number().int(), den: z.number().int() }), titleSeconds: z.number() }),
  grid: z.strictObject({ heights: z.array(z.number().int()), crfs: z.array(z.number()), gopSeconds: z.number() }),
  /** The trials' encoder speed: x264/x265 preset, or vp9/SVT-AV1 speed (the real rungs may use a slower one). */
  preset: z.enum(X26X_PRESETS).optional(),
  speed: z.number().int().optional(),
  sample: z.strictObject({
    mode: z.enum(['whole', 'spread']),
    /** `random-access`: each segment decoded from a verified random-access point of the source's frame index, its pictures checked against the index; `decode-from-start`: no index, one decode from the start. */
    access: z.enum(['random-access', 'decode-from-start']),
    segments: z.array(SampleSegment),
    segmentSeconds: z.number(),
    frames: z.number().int(),
    sampledSeconds: z.number(),
    fraction: z.number(),
  }),
  /** Sorted by height, then CRF. */
  points: z.array(ComplexityPoint),
  cost: AnalysisCost,
  analyzedAt: z.string(),
});
export type AnalyzeResult = z.infer<typeof AnalyzeResult>;
