/**
 * VES-internal messages: a chunk work item (self-contained, so any encoder
 * node can take it) and a chunk result, kept in the `vpipe_chunks` KV bucket
 * under `<jobId>.<index>` — the reduce step watches that prefix.
 */
import { z } from 'zod';
import { ErrorBody } from '../../schemas/api.js';
import { ChunkPlan, Codec, Recipe } from '../../schemas/ves.js';

export const ChunkSpec = z.object({
  recipe: Recipe,
  frameRate: z.object({ num: z.number(), den: z.number() }),
  width: z.number().int(),
  height: z.number().int(),
  sourceWidth: z.number().int(),
  sourceHeight: z.number().int(),
  threads: z.number().int().min(1),
});

export const ChunkWorkItem = z.object({
  jobId: z.string(),
  codec: Codec,
  sourcePath: z.string(),
  chunk: ChunkPlan,
  total: z.number().int().min(1),
  spec: ChunkSpec,
  shape: z.string(),
  outPath: z.string(),
});
export type ChunkWorkItem = z.infer<typeof ChunkWorkItem>;

export const ChunkResult = z.object({
  index: z.number().int(),
  ok: z.boolean(),
  path: z.string().optional(),
  frames: z.number().int().optional(),
  bytes: z.number().int().optional(),
  encodeSeconds: z.number().optional(),
  startedAt: z.number().optional(),
  finishedAt: z.number().optional(),
  /** The chunk file's first presentation time (see ChunkEncodeOutput.startSeconds). */
  startSeconds: z.number().optional(),
  worker: z.string().optional(),
  delivery: z.number().int().optional(),
  error: ErrorBody.optional(),
});
export type ChunkResult = z.infer<typeof ChunkResult>;

export const chunkKey = (jobId: string, index: number): string => `${jobId}.${index}`;
export const encodeFunction = (codec: string): string => `encode.${codec}`;
