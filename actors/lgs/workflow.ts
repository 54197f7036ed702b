/**
 * The ladder job as an XState machine: analysing (CAS's trial encodes, over
 * NATS) → building (curves, hull, rungs: pure) → done. A pure declaration:
 * `service.ts` provides the steps. The analysis lands in context (a few
 * dozen points), so a job resumed after a crash builds the ladder without
 * asking CAS again.
 */
import { fromPromise, setup } from 'xstate';
import { type CancelEvent, cancelledState, type JobOutput, notProvided, onCancel, outputOf, recordError, stepsFor } from '../../runtime/jobs/mod.js';
import type { ErrorBody } from '../../schemas/api.js';
import type { LadderConstraints, LadderResult } from '../../schemas/lgs.js';
import type { DeliveryCodec as Codec } from '../../schemas/ves.js';
import type { Analysis } from './analysis.js';

/** The request after admission (its source checked under the media root), defaults applied. */
export interface LgsJobInput {
  sourceUri: string;
  codec: Codec;
  constraints?: LadderConstraints;
  allowWithoutVmaf: boolean;
  priority: 'high' | 'normal' | 'low';
}

export interface LgsContext {
  job: LgsJobInput;
  analysis: Analysis | null;
  result: LadderResult | null;
  error: ErrorBody | null;
}

const actors = {
  analyse: fromPromise<Analysis, LgsJobInput>(notProvided('analyse')),
  build: fromPromise<LadderResult, { job: LgsJobInput; analysis: Analysis }>(notProvided('build')),
};
const step = stepsFor<LgsContext, typeof actors>();

export const ladderMachine = setup({
  types: { input: {} as LgsJobInput, context: {} as LgsContext, output: {} as JobOutput, events: {} as CancelEvent },
  actions: { recordError: recordError<LgsContext>() },
  actors,
}).createMachine({
  id: 'lgs-ladder',
  context: ({ input }) => ({ job: input, analysis: null, result: null, error: null }),
  initial: 'analysing',
  on: onCancel,
  states: {
    analysing: step('analyse', { input: ({ context }) => context.job, assign: 'analysis', next: 'building' }),
    building: step('build', { input: ({ context }) => ({ job: context.job, analysis: context.analysis! }), assign: 'result', next: 'done' }),
    done: { type: 'final' },
    failed: { type: 'final' },
    cancelled: cancelledState<LgsContext>(),
  },
  output: ({ context }): JobOutput => outputOf(context, (c) => c.result),
});
