/**
 * The studio orchestrator (`vpipe.studio.submit`, `vpipe.studio.detect`): fast editorial proxies
 * from a named recipe, with burn-ins and visible and forensic watermarks, and the detector that
 * attributes a leaked copy to its recipient.
 */
import { z } from 'zod';
import { MediaRef, Priority } from './common.js';
import { BurnInSpec, VisibleWatermark } from './ves.js';
import { IssueCode } from './vis.js';

export const STUDIO_RECIPE_NAMES = ['proxy-h264-1080p', 'proxy-h264-720p', 'prores-proxy', 'prores-lt', 'dnxhr-lb'] as const;
export const StudioRecipeName = z.enum(STUDIO_RECIPE_NAMES);
export type StudioRecipeName = z.infer<typeof StudioRecipeName>;

/** A recipient as it is burned in and registered: printable, no control characters. */
export const Recipient = z
  .string()
  .min(1)
  .max(128)
  .regex(/^[\p{L}\p{N}\p{P}\p{S} ]+$/u, 'letters, digits, punctuation, symbols and spaces only');

export const StudioRequest = z.strictObject({
  source: MediaRef,
  /** A file (its extension the recipe's container: .mp4 for H.264, .mov for ProRes/DNxHR) or a directory ending in '/'. */
  output: z.strictObject({ uri: z.string().min(1).max(4096) }),
  recipe: StudioRecipeName,
  burnIn: BurnInSpec.optional(),
  watermark: z
    .strictObject({
      visible: VisibleWatermark.optional(),
      /** An invisible per-recipient A/B mark; `vpipe.studio.detect` finds the recipient in a leaked copy. */
      forensic: z.strictObject({ recipient: Recipient }).optional(),
    })
    .optional(),
  /** Default high: someone is waiting for it. */
  priority: Priority.optional(),
  /** VIS error issues to accept (the output may carry them). */
  overrideIssues: z.array(IssueCode).max(32).optional(),
  correlationId: z.string().max(256).optional(),
});
export type StudioRequest = z.infer<typeof StudioRequest>;

export const DetectRequest = z.strictObject({
  /** The leaked copy (any size, re-encoded). */
  leak: MediaRef,
  /** The title's original source, as it was submitted to the studio. */
  original: MediaRef,
  priority: Priority.optional(),
  correlationId: z.string().max(256).optional(),
});
export type DetectRequest = z.infer<typeof DetectRequest>;

export const StudioResult = z.strictObject({
  output: z.strictObject({ uri: z.string(), container: z.string(), codec: z.string(), profile: z.string().nullable(), width: z.number().int(), height: z.number().int(), frames: z.number().int(), durationSeconds: z.number(), sizeBytes: z.number().int() }),
  recipe: StudioRecipeName,
  burnIn: z.strictObject({ timecodeStart: z.string(), timecodeFrom: z.string() }).nullable(),
  watermark: z.strictObject({
    visible: z.boolean(),
    forensic: z.strictObject({ recipient: z.string(), payload: z.string(), segments: z.number().int(), variantsReused: z.boolean() }).nullable(),
  }),
  /** Seconds from admission to the end of each stage, and the VES jobs used. */
  seconds: z.strictObject({ inspect: z.number(), encode: z.number(), mark: z.number(), total: z.number() }),
  ves: z.array(z.strictObject({ jobId: z.string(), chunks: z.number().int(), encodeSeconds: z.number() })),
  notes: z.array(z.string()),
  report: z.strictObject({ uri: z.string() }),
});
export type StudioResult = z.infer<typeof StudioResult>;

export const DetectResult = z.strictObject({
  recipient: z.string().nullable(),
  confidence: z.number(),
  detected: z.boolean(),
  payload: z.string().nullable(),
  /** The studio recipe whose marks matched (a title may be marked under several). */
  recipe: z.string().nullable(),
  framesCompared: z.number().int(),
  segments: z.number().int(),
  reason: z.string().optional(),
});
export type DetectResult = z.infer<typeof DetectResult>;
