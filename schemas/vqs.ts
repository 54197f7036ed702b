/**
 * VQS — the Video Quality Service: a reference and a distorted video in,
 * per-frame and pooled quality scores out (VMAF where the metric ffmpeg has
 * libvmaf, PSNR, SSIM). Every score block names its metric, model and the
 * versions that computed it; VMAF is only ever a libvmaf score.
 */
import { z } from 'zod';
import { MediaRef, Priority, Resolution } from './common.js';

export const QUALITY_METRICS = ['vmaf', 'psnr', 'ssim'] as const;
export const QualityMetric = z.enum(QUALITY_METRICS);
export type QualityMetric = z.infer<typeof QualityMetric>;

/** libvmaf's built-in models: the 1080p TV model, its no-enhancement-gain variant, and the 4K TV model. */
export const VMAF_MODELS = ['vmaf_v0.6.1', 'vmaf_v0.6.1neg', 'vmaf_4k_v0.6.1'] as const;
export const VmafModel = z.enum(VMAF_MODELS);
export type VmafModel = z.infer<typeof VmafModel>;

/** The display each model was trained for: `compareAt: "model"` scales to this height. */
export const VMAF_MODEL_HEIGHT: Readonly<Record<VmafModel, number>> = { 'vmaf_v0.6.1': 1080, 'vmaf_v0.6.1neg': 1080, 'vmaf_4k_v0.6.1': 2160 };

/** PSNR of identical pictures (the filter says inf) and the ceiling of every per-frame PSNR, as VVS uses. */
export const PSNR_CAP_DB = 100;

export const SEGMENT_FRAMES_DEFAULT = 1500;

export const MeasureRequest = z
  .strictObject({
    reference: MediaRef,
    distorted: MediaRef,
    /** Default: all three. */
    metrics: z
      .array(QualityMetric)
      .min(1)
      .max(QUALITY_METRICS.length)
      .refine((m) => new Set(m).size === m.length, 'each metric once')
      .optional(),
    vmaf: z
      .strictObject({
        model: VmafModel.optional(),
        /** The phone model: libvmaf's `enable_transform` on a 1080p model (small screen at a typical distance). */
        phoneModel: z.boolean().optional(),
      })
      .optional(),
    /** When this node's metric ffmpeg has no libvmaf: answer with the other metrics (the result says VMAF was not measured) instead of refusing. */
    allowWithoutVmaf: z.boolean().optional(),
    /**
     * The picture size both sides are compared at (bicubic): `reference` (default), the reference's
     * display size; `model`, the VMAF model's display height (1080, 2160 for the 4K model) at the
     * reference's display aspect ratio; or an explicit size.
     */
    compareAt: z.union([z.enum(['reference', 'model']), Resolution]).optional(),
    /** Different frame counts fail the job (CONTENT_MISMATCH) unless this is true: then the first min(N, M) frame pairs are scored and the result says so. */
    allowFrameCountMismatch: z.boolean().optional(),
    /** Frames per parallel segment (work item); inputs up to this many frames are measured in one pass. */
    segmentFrames: z.number().int().min(10).max(5000).optional(),
    /** Writes every frame's scores as JSON to this file (under the media root), for inputs too long to carry them in the result. */
    report: MediaRef.optional(),
    priority: Priority.optional(),
    correlationId: z.string().max(256).optional(),
  })
  .refine((r) => !r.vmaf?.phoneModel || r.vmaf.model !== 'vmaf_4k_v0.6.1', {
    message: 'the phone model is a transform of the 1080p models (vmaf_v0.6.1, vmaf_v0.6.1neg), not of vmaf_4k_v0.6.1',
    path: ['vmaf', 'phoneModel'],
  });
export type MeasureRequest = z.infer<typeof MeasureRequest>;

/** Scores pooled over every compared frame, from the per-frame values (never from segment means). */
export const PooledScores = z.strictObject({
  mean: z.number(),
  /** libvmaf's definition, 1 / mean(1 / (x + 1)) − 1, which stays defined at 0. */
  harmonicMean: z.number(),
  min: z.number(),
  max: z.number(),
  /** 1st ("1 % low") and 5th percentiles, linear between ranks. */
  p1: z.number(),
  p5: z.number(),
});
export type PooledScores = z.infer<typeof PooledScores>;

export const VmafScores = PooledScores.extend({
  metric: z.literal('vmaf'),
  model: VmafModel,
  phoneModel: z.boolean(),
  /** The libvmaf version (as libvmaf reports itself). */
  version: z.string(),
  libvmaf: z.string(),
  ffmpeg: z.string(),
});

export const PsnrScores = PooledScores.extend({
  metric: z.literal('psnr'),
  /** The pooled numbers at this level are luma PSNR; `yuv` holds (6·Y + U + V) / 8. */
  model: z.literal('psnr_y'),
  capDb: z.number(),
  /** The ffmpeg version whose psnr filter measured it. */
  version: z.string(),
  ffmpeg: z.string(),
  yuv: PooledScores.extend({ model: z.literal('psnr_yuv_611') }),
});

export const SsimScores = PooledScores.extend({
  metric: z.literal('ssim'),
  /** Luma SSIM of ffmpeg's ssim filter (8×8 windows every 4 pixels). */
  model: z.literal('ssim_y'),
  version: z.string(),
  ffmpeg: z.string(),
});

export const MeasureResult = z.strictObject({
  metrics: z.strictObject({ vmaf: VmafScores.optional(), psnr: PsnrScores.optional(), ssim: SsimScores.optional() }),
  /** Metrics asked for but not measured, and why (VMAF with allowWithoutVmaf on a node without libvmaf). */
  notMeasured: z.array(z.strictObject({ metric: QualityMetric, reason: z.string() })),
  frames: z.strictObject({
    reference: z.number().int(),
    distorted: z.number().int(),
    /** Frame pairs scored: frame i of one with frame i of the other. */
    compared: z.number().int(),
    countsMatch: z.boolean(),
    /** `frame-index`: the count of the file's frame index (VIS); `decode`: counted by decoding. */
    referenceCountedBy: z.enum(['frame-index', 'decode']),
    distortedCountedBy: z.enum(['frame-index', 'decode']),
  }),
  comparison: z.strictObject({
    /** Both sides are scaled (bicubic) to this size and compared in this pixel format. */
    width: z.number().int(),
    height: z.number().int(),
    pixelFormat: z.string(),
    scaler: z.literal('bicubic'),
    /** Display sizes (sample aspect ratio and rotation applied). */
    reference: Resolution,
    distorted: Resolution,
    /** Frames are paired by their decoded order (frame numbers as timestamps), never by container timestamps. */
    pairing: z.literal('frame-number'),
  }),
  segments: z.number().int(),
  /** Every frame's scores (frame 0 first); null when more than PER_FRAME_INLINE_MAX frames were compared (ask for `report`). */
  perFrame: z
    .strictObject({ vmaf: z.array(z.number()).optional(), psnrY: z.array(z.number()).optional(), psnrYuv: z.array(z.number()).optional(), ssim: z.array(z.number()).optional() })
    .nullable(),
  report: z.strictObject({ uri: z.string() }).optional(),
});
export type MeasureResult = z.infer<typeof MeasureResult>;

/** Most frames whose scores the result carries itself (the result event and the job record have a size limit). */
export const PER_FRAME_INLINE_MAX = 3000;
