/**
 * One segment measurement as an actor: measuring → recording → done, or
 * failed (the error as a wire body), or cancelled. A pure declaration; the
 * segment worker provides the two steps once per pool.
 */
import { fromPromise, setup } from 'xstate';
import { type CancelEvent, cancelledState, notProvided, onCancel, type Outcome, outputOf, recordError, stepsFor } from '../../runtime/jobs/mod.js';
import type { ErrorBody } from '../../schemas/api.js';
import type { SegmentScores } from './compute/measure-segment.js';
import type { SegmentResult, SegmentWorkItem } from './messages.js';

/** What the measure step gives: the segment's scores and the wall seconds they took. */
export type MeasuredSegment = SegmentScores & { seconds: number };

export interface SegmentContext {
  item: SegmentWorkItem;
  delivery: number;
  measured: MeasuredSegment | null;
  error: ErrorBody | null;
}

const actors = {
  measure: fromPromise<MeasuredSegment, SegmentWorkItem>(notProvided('measure')),
  record: fromPromise<void, { jobId: string; result: SegmentResult }>(notProvided('record')),
};
const step = stepsFor<SegmentContext, typeof actors>();

export const segmentMachine = setup({
  types: {
    input: {} as { item: SegmentWorkItem; delivery: number },
    context: {} as SegmentContext,
    output: {} as Outcome<MeasuredSegment>,
    events: {} as CancelEvent,
  },
  actions: { recordError: recordError<SegmentContext>() },
  actors,
}).createMachine({
  id: 'vqs-segment',
  context: ({ input }) => ({ item: input.item, delivery: input.delivery, measured: null, error: null }),
  initial: 'measuring',
  on: onCancel,
  states: {
    measuring: step('measure', { input: ({ context }) => context.item, assign: 'measured', next: 'recording' }),
    recording: step('record', { input: ({ context }) => ({ jobId: context.item.jobId, result: { ...context.measured!, index: context.item.index, ok: true, delivery: context.delivery } }), next: 'done' }),
    done: { type: 'final' },
    failed: { type: 'final' },
    cancelled: cancelledState<SegmentContext>(),
  },
  output: ({ context }) => outputOf(context, (c) => c.measured),
});
