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
  rotation: z.union([z.literal(0), z.literal(90), z.literal(180), z.literal(270)]).optional(),
  timecodeStart: z.string().max(16).optional(),
  watermarkImagePath: z.string().max(4096).optional(),
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
  /**
   * What the chunk must take from the source, from the frame index: each frame's picture CRC, and
   * its time relative to the chunk's first frame (ticks of timeBase) where that is not the decoded
   * time's offset (repaired timestamps). Absent for items queued before the index existed.
   */
  source: z
    .object({
      /** Absolute index of the indexed video stream. */
      streamIndex: z.number().int().min(0),
      timeBase: z.object({ num: z.number().int().min(1), den: z.number().int().min(1) }),
      hashes: z.array(z.number().int().min(0)),
      ptsOverrides: z.array(z.tuple([z.number().int().min(0), z.number().int()])).max(256),
    })
    .optional(),
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
