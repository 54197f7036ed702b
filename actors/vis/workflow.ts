/**
 * The inspection job as an XState machine: probe → scan → analyse. A pure
 * declaration: the steps are placeholders that `service.ts` provides with
 * the real ffprobe/ffmpeg functions (and tests with fakes). Each step's
 * output lands in context, so the snapshot persisted after every step holds
 * all work done so far.
 */
import { fromPromise, setup } from 'xstate';
import { type CancelEvent, cancelledState, type JobOutput, notProvided, onCancel, outputOf, recordError, stepsFor } from '../../runtime/jobs/mod.js';
import type { ErrorBody } from '../../schemas/api.js';
import type { InspectResult } from '../../schemas/vis.js';
import type { ProbeData, ScanData } from './compute/index.js';

/** The job input: the request after admission (media resolved under the root). */
export interface VisJobInput {
  uri: string;
  path: string;
  imageSequence?: { frameRate?: { num: number; den: number }; startNumber?: number };
  decodeCheck: boolean;
}

export interface VisContext {
  job: VisJobInput;
  probe: ProbeData | null;
  scan: ScanData | null;
  result: InspectResult | null;
  error: ErrorBody | null;
}

const actors = {
  probe: fromPromise<ProbeData, VisJobInput>(notProvided('probe')),
  scan: fromPromise<ScanData, { job: VisJobInput; probe: ProbeData }>(notProvided('scan')),
  analyse: fromPromise<InspectResult, { job: VisJobInput; probe: ProbeData; scan: ScanData }>(notProvided('analyse')),
};
const step = stepsFor<VisContext, typeof actors>();

export const inspectionMachine = setup({
  types: {
    input: {} as VisJobInput,
    context: {} as VisContext,
    output: {} as JobOutput,
    events: {} as CancelEvent,
  },
  actions: {
    recordError: recordError<VisContext>(),
  },
  actors,
}).createMachine({
  id: 'vis-inspection',
  context: ({ input }) => ({ job: input, probe: null, scan: null, result: null, error: null }),
  initial: 'probing',
  on: onCancel,
  states: {
    probing: step('probe', { input: ({ context }) => context.job, assign: 'probe', next: 'scanning' }),
    scanning: step('scan', { input: ({ context }) => ({ job: context.job, probe: context.probe! }), assign: 'scan', next: 'analysing' }),
    analysing: step('analyse', { input: ({ context }) => ({ job: context.job, probe: context.probe!, scan: context.scan! }), assign: 'result', next: 'succeeded' }),
    succeeded: { type: 'final' },
    failed: { type: 'final' },
    cancelled: cancelledState<VisContext>(),
  },
  output: ({ context }): JobOutput => outputOf(context, (c) => c.result),
});
