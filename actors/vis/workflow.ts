/**
 * The inspection job as an XState machine: probe → scan → analyse. A pure
 * declaration: the steps are placeholders that `service.ts` provides with
 * the real ffprobe/ffmpeg functions (and tests with fakes). Each step's
 * output lands in context, so the snapshot persisted after every step holds
 * all work done so far.
 */
import { assign, fromPromise, setup } from 'xstate';
import { type JobOutput, notProvided, stepError } from '../../runtime/jobs/mod.js';
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

export const inspectionMachine = setup({
  types: {
    input: {} as VisJobInput,
    context: {} as VisContext,
    output: {} as JobOutput,
  },
  actions: {
    // A step's failure lands in context as a wire error body (snapshots must be plain data).
    recordError: assign({ error: ({ event }) => stepError(event) }),
  },
  actors: {
    probe: fromPromise<ProbeData, VisJobInput>(notProvided('probe')),
    scan: fromPromise<ScanData, { job: VisJobInput; probe: ProbeData }>(notProvided('scan')),
    analyse: fromPromise<InspectResult, { job: VisJobInput; probe: ProbeData; scan: ScanData }>(notProvided('analyse')),
  },
}).createMachine({
  id: 'vis-inspection',
  context: ({ input }) => ({ job: input, probe: null, scan: null, result: null, error: null }),
  initial: 'probing',
  states: {
    probing: {
      invoke: {
        src: 'probe',
        input: ({ context }) => context.job,
        onDone: { target: 'scanning', actions: assign({ probe: ({ event }) => event.output }) },
        onError: { target: 'failed', actions: 'recordError' },
      },
    },
    scanning: {
      invoke: {
        src: 'scan',
        input: ({ context }) => ({ job: context.job, probe: context.probe! }),
        onDone: { target: 'analysing', actions: assign({ scan: ({ event }) => event.output }) },
        onError: { target: 'failed', actions: 'recordError' },
      },
    },
    analysing: {
      invoke: {
        src: 'analyse',
        input: ({ context }) => ({ job: context.job, probe: context.probe!, scan: context.scan! }),
        onDone: { target: 'succeeded', actions: assign({ result: ({ event }) => event.output }) },
        onError: { target: 'failed', actions: 'recordError' },
      },
    },
    succeeded: { type: 'final' },
    failed: { type: 'final' },
  },
  output: ({ context }): JobOutput =>
    context.error || !context.result ? { ok: false, error: context.error ?? { code: 'INTERNAL', message: 'no result' } } : { ok: true, result: context.result },
});
