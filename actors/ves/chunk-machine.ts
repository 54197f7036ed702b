/**
 * One chunk job as an actor: encoding → recording → done, or failed with
 * the error as a wire body, or cancelled. Pure declaration; the encoder
 * worker provides the encode and record steps and the clock once per pool
 * (everything an item needs comes in through the machine's input, so no
 * definition is built per chunk).
 */
import { assign, fromPromise, setup } from 'xstate';
import { type CancelEvent, cancelledState, notProvided, onCancel, type Outcome, outputOf, recordError, stepsFor } from '../../runtime/jobs/mod.js';
import type { ErrorBody } from '../../schemas/api.js';
import type { ChunkResult, ChunkWorkItem } from './messages.js';
import type { ChunkEncodeOutput } from './compute/encode-chunk.js';

export interface ChunkContext {
  item: ChunkWorkItem;
  startedAt: number;
  /** Which delivery of the work item this is (1 = first): recorded with the result. */
  delivery: number;
  encoded: ChunkEncodeOutput | null;
  /** When the encode finished, by the provided clock: kept in context so a resumed record writes the same time. */
  finishedAt: number | null;
  error: ErrorBody | null;
}

/** What the record step writes: a chunk's result, for its job, from this delivery. */
export interface ChunkRecord {
  jobId: string;
  delivery: number;
  result: ChunkResult;
}

const actors = {
  encode: fromPromise<ChunkEncodeOutput, ChunkWorkItem>(notProvided('encode')),
  record: fromPromise<void, ChunkRecord>(notProvided('record')),
};
const step = stepsFor<ChunkContext, typeof actors>();

export const chunkMachine = setup({
  types: {
    input: {} as { item: ChunkWorkItem; startedAt: number; delivery: number },
    context: {} as ChunkContext,
    output: {} as Outcome<ChunkEncodeOutput>,
    events: {} as CancelEvent,
  },
  actions: {
    recordError: recordError<ChunkContext>(),
    // The clock is the host's (`chunkClock`): a machine left without one fails rather than read the wall clock.
    stampFinished: assign(() => {
      throw new Error('the chunk machine has no clock: provide chunkClock(now)');
    }),
  },
  actors,
}).createMachine({
  id: 'ves-chunk',
  context: ({ input }) => ({ item: input.item, startedAt: input.startedAt, delivery: input.delivery, encoded: null, finishedAt: null, error: null }),
  initial: 'encoding',
  on: onCancel,
  states: {
    encoding: step('encode', { input: ({ context }) => context.item, assign: 'encoded', then: 'stampFinished', next: 'recording' }),
    recording: step('record', {
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
          finishedAt: context.finishedAt!,
        },
      }),
      next: 'done',
    }),
    done: { type: 'final' },
    failed: { type: 'final' },
    cancelled: cancelledState<ChunkContext>(),
  },
  output: ({ context }) => outputOf(context, (c) => c.encoded),
});

/** The clock the chunk machine stamps results with, for `chunkMachine.provide({ actions: chunkClock(now) })`. */
export function chunkClock(now: () => number) {
  return { stampFinished: assign<ChunkContext, CancelEvent, unknown, CancelEvent, never>({ finishedAt: () => now() }) };
}
