/**
 * One chunk job as an actor: encoding → recording → done, or failed with
 * the error as a wire body. Pure declaration; the encoder worker provides
 * the encode and record steps once per pool (everything an item needs comes
 * in through the machine's input, so no definition is built per chunk).
 */
import { assign, fromPromise, setup } from 'xstate';
import { notProvided, stepError } from '../../runtime/jobs/mod.js';
import type { ErrorBody } from '../../schemas/api.js';
import type { ChunkResult, ChunkWorkItem } from './messages.js';
import type { ChunkEncodeOutput } from './compute/encode-chunk.js';

export interface ChunkContext {
  item: ChunkWorkItem;
  startedAt: number;
  /** Which delivery of the work item this is (1 = first): recorded with the result. */
  delivery: number;
  encoded: ChunkEncodeOutput | null;
  error: (ErrorBody & { retryable?: boolean }) | null;
}

/** What the record step writes: a chunk's result, for its job, from this delivery. */
export interface ChunkRecord {
  jobId: string;
  delivery: number;
  result: ChunkResult;
}

export const chunkMachine = setup({
  types: {
    input: {} as { item: ChunkWorkItem; startedAt: number; delivery: number },
    context: {} as ChunkContext,
    output: {} as { ok: true; encoded: ChunkEncodeOutput } | { ok: false; error: ErrorBody },
  },
  actions: {
    recordError: assign({ error: ({ event }) => stepError(event) }),
  },
  actors: {
    encode: fromPromise<ChunkEncodeOutput, ChunkWorkItem>(notProvided('encode')),
    record: fromPromise<void, ChunkRecord>(notProvided('record')),
  },
}).createMachine({
  id: 'ves-chunk',
  context: ({ input }) => ({ item: input.item, startedAt: input.startedAt, delivery: input.delivery, encoded: null, error: null }),
  initial: 'encoding',
  states: {
    encoding: {
      invoke: {
        src: 'encode',
        input: ({ context }) => context.item,
        onDone: { target: 'recording', actions: assign({ encoded: ({ event }) => event.output }) },
        onError: { target: 'failed', actions: 'recordError' },
      },
    },
    recording: {
      invoke: {
        src: 'record',
        input: ({ context }): ChunkRecord => ({
          jobId: context.item.jobId,
          delivery: context.delivery,
          result: {
            index: context.item.chunk.index,
            ok: true,
            path: context.item.outPath,
            frames: context.encoded!.frames,
            bytes: context.encoded!.bytes,
            encodeSeconds: context.encoded!.encodeSeconds,
            startSeconds: context.encoded!.startSeconds ?? undefined,
            startedAt: context.startedAt,
            finishedAt: Date.now(),
          },
        }),
        onDone: 'done',
        onError: { target: 'failed', actions: 'recordError' },
      },
    },
    done: { type: 'final' },
    failed: { type: 'final' },
  },
  output: ({ context }) =>
    context.error || !context.encoded ? { ok: false as const, error: context.error ?? { code: 'INTERNAL', message: 'no output' } } : { ok: true as const, encoded: context.encoded },
});
