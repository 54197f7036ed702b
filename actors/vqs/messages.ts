/**
 * VQS-internal messages: a segment work item (self-contained, so any node
 * with the encoder role can score it) and its result, kept in the shared
 * fan-out bucket `vpipe_chunks` under `<jobId>.<index>`; `<jobId>.end` marks
 * a job that has ended, so segments still queued for it are skipped.
 */
import { z } from 'zod';
import { ErrorBody } from '../../schemas/api.js';
import { QualityMetric, VmafModel } from '../../schemas/vqs.js';

export const SEGMENT_FUNCTION = 'vqs.segment';

export const SegmentWorkItem = z.object({
  jobId: z.string(),
  index: z.number().int().min(0),
  total: z.number().int().min(1),
  distortedPath: z.string(),
  referencePath: z.string(),
  distortedStream: z.number().int().min(0),
  referenceStream: z.number().int().min(0),
  /** Frames scored, [startFrame, endFrame), and decoded, [decodeFrom, decodeTo) (one frame of motion context each side). */
  startFrame: z.number().int().min(0),
  endFrame: z.number().int().min(1),
  decodeFrom: z.number().int().min(0),
  decodeTo: z.number().int().min(1),
  width: z.number().int().min(2),
  height: z.number().int().min(2),
  pixelFormat: z.string(),
  metrics: z.array(QualityMetric),
  vmaf: z.object({ model: VmafModel, phoneModel: z.boolean() }).optional(),
  threads: z.number().int().min(1),
  mediaSeconds: z.number().nullable(),
});
export type SegmentWorkItem = z.infer<typeof SegmentWorkItem>;

const Column = z.array(z.number()).optional();

export const SegmentResult = z.object({
  index: z.number().int(),
  ok: z.boolean(),
  frames: z.number().int().optional(),
  vmaf: Column,
  psnrY: Column,
  psnrU: Column,
  psnrV: Column,
  ssim: Column,
  libvmaf: z.string().optional(),
  seconds: z.number().optional(),
  worker: z.string().optional(),
  delivery: z.number().int().optional(),
  error: ErrorBody.optional(),
});
export type SegmentResult = z.infer<typeof SegmentResult>;

export const segmentKey = (jobId: string, index: number): string => `${jobId}.${index}`;
export const endKey = (jobId: string): string => `${jobId}.end`;
