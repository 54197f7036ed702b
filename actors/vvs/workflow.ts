/**
 * The validation job as an XState machine: measure → compare. A pure
 * declaration: the steps are placeholders that `service.ts` provides with
 * the real functions (and tests with fakes). The measurement lands in
 * context, so a job resumed after a crash never re-reads the file to compare.
 */
import { fromPromise, setup } from 'xstate';
import { type CancelEvent, cancelledState, type JobOutput, notProvided, onCancel, outputOf, recordError, stepsFor } from '../../runtime/jobs/mod.js';
import type { ErrorBody } from '../../schemas/api.js';
import type { Expectations, ValidateResult } from '../../schemas/vvs.js';
import type { MeasureData } from './compute/index.js';

/** The job input: the request after admission (media resolved under the root, schema defaults applied). */
export interface VvsJobInput {
  uri: string;
  path: string;
  expectations: Expectations;
  /** expectations.content.source resolved under the media root. */
  contentSourcePath?: string;
}

export interface VvsContext {
  job: VvsJobInput;
  measure: MeasureData | null;
  result: ValidateResult | null;
  error: ErrorBody | null;
}

const actors = {
  measure: fromPromise<MeasureData, VvsJobInput>(notProvided('measure')),
  compare: fromPromise<ValidateResult, { job: VvsJobInput; measure: MeasureData }>(notProvided('compare')),
};
const step = stepsFor<VvsContext, typeof actors>();

export const validationMachine = setup({
  types: {
    input: {} as VvsJobInput,
    context: {} as VvsContext,
    output: {} as JobOutput,
    events: {} as CancelEvent,
  },
  actions: {
    recordError: recordError<VvsContext>(),
  },
  actors,
}).createMachine({
  id: 'vvs-validation',
  context: ({ input }) => ({ job: input, measure: null, result: null, error: null }),
  initial: 'measuring',
  on: onCancel,
  states: {
    measuring: step('measure', { input: ({ context }) => context.job, assign: 'measure', next: 'comparing' }),
    comparing: step('compare', { input: ({ context }) => ({ job: context.job, measure: context.measure! }), assign: 'result', next: 'done' }),
    done: { type: 'final' },
    failed: { type: 'final' },
    cancelled: cancelledState<VvsContext>(),
  },
  // A validation that finds discrepancies is a succeeded job whose result says ok: false.
  output: ({ context }): JobOutput => outputOf(context, (c) => c.result),
});
