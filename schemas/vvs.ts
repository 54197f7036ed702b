/** VVS — the Video Validation Service: an encoded video and expectations in, discrepancies out. */
import { z } from 'zod';
import { MediaRef, PixelFormatName, Priority, Resolution } from './common.js';
import { Codec, Level } from './ves.js';

export const Expectations = z.strictObject({
  codec: Codec.optional(),
  /** In the encoder's spelling, as in a recipe (high, main10, 0 …). */
  profile: z.string().max(16).optional(),
  /**
   * `exact` (default): the stream signals that profile. `decodable`: it signals that profile or one its
   * decoders must also decode (h264 Constrained Baseline ⊂ Main ⊂ High ⊂ High 10 …), as an encoder may
   * signal the lowest profile its tools need (x264 ultrafast writes Constrained Baseline for `high`).
   */
  profileMatch: z.enum(['exact', 'decodable']).optional(),
  level: Level.optional(),
  resolution: Resolution.optional(),
  pixelFormat: PixelFormatName.optional(),
  frameCount: z.number().int().min(0).optional(),
  /** Duration within ±1 frame. */
  durationSeconds: z.number().min(0).optional(),
  averageBitrateKbps: z
    .strictObject({
      target: z.number().min(1),
      tolerancePercent: z.number().min(0).max(1000).default(20),
      /** Only an overshoot is a discrepancy (a VBV-capped encode of easy content legitimately comes in under). */
      allowUndershoot: z.boolean().optional(),
    })
    .optional(),
  /** Longest keyframe distance allowed, in frames. */
  maxGopFrames: z.number().int().min(1).optional(),
  /** Frame indexes that must be keyframes (e.g. every chunk start). */
  keyframesAtFrames: z.array(z.number().int().min(0)).max(100_000).optional(),
  decodesWithoutErrors: z.boolean().optional(),
  /**
   * The output is this source's pictures: VVS lines frames up through the source's frame index
   * (by content hash) and checks every frame's time (when `checkTimes`) and PSNR against the
   * source frame at the same index. `chunkStarts` names the chunk of each bad frame.
   */
  content: z
    .strictObject({
      source: MediaRef,
      contentHash: z.string().regex(/^[0-9a-f]{64}$/),
      psnrFloorDb: z.number().min(0).max(100).optional(),
      chunkStarts: z.array(z.number().int().min(0)).max(100_000).optional(),
      checkTimes: z.boolean().optional(),
      /** Rectangles (output pixels) left out of the PSNR: what the encode drew on purpose (burn-ins, visible watermarks). */
      maskRegions: z
        .array(z.strictObject({ x: z.number().int().min(0).max(16384), y: z.number().int().min(0).max(16384), width: z.number().int().min(1).max(16384), height: z.number().int().min(1).max(16384) }))
        .max(16)
        .optional(),
    })
    .optional(),
});
export type Expectations = z.infer<typeof Expectations>;

export const ValidateRequest = z.strictObject({
  video: MediaRef,
  expectations: Expectations,
  priority: Priority.optional(),
  correlationId: z.string().max(256).optional(),
});
export type ValidateRequest = z.infer<typeof ValidateRequest>;

export const Discrepancy = z.strictObject({
  field: z.string(),
  expected: z.unknown(),
  actual: z.unknown(),
  message: z.string(),
});
export type Discrepancy = z.infer<typeof Discrepancy>;

export const Measured = z.strictObject({
  codec: z.string().nullable(),
  profile: z.string().nullable(),
  level: z.string().nullable(),
  resolution: Resolution.nullable(),
  pixelFormat: z.string().nullable(),
  frameCount: z.number().int().nullable(),
  durationSeconds: z.number().nullable(),
  averageBitrateKbps: z.number().nullable(),
  maxGopFrames: z.number().int().nullable(),
  keyframeCount: z.number().int().nullable(),
  decodeErrors: z.number().int().nullable(),
  /** The content check against the source (when expected). */
  content: z
    .strictObject({
      psnrMean: z.number().nullable(),
      psnrMin: z.number().nullable(),
      psnrMinFrame: z.number().int().nullable(),
      framesCompared: z.number().int(),
      framesBelowFloor: z.number().int(),
      timeErrors: z.number().int(),
      maxTimeErrorSeconds: z.number(),
      dtsNonIncreasing: z.number().int(),
    })
    .optional(),
});
export type Measured = z.infer<typeof Measured>;

export const ValidateResult = z.strictObject({
  ok: z.boolean(),
  discrepancies: z.array(Discrepancy),
  measured: Measured,
});
export type ValidateResult = z.infer<typeof ValidateResult>;
