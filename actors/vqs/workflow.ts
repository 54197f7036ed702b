/**
 * The measurement job as an XState machine, a DAG of nodes: planning (probe
 * both sides, count their frames, cut segments) → dispatching (map: one work
 * item per segment) → measuring (reduce: every segment's per-frame scores,
 * joined and pooled) → cleaning (segment records removed) → done. A pure
 * declaration: `steps.ts` provides the steps. The per-frame scores never sit
 * in context (snapshots go to KV); only the pooled result does.
 */
import { fromPromise, setup } from 'xstate';
import { type CancelEvent, cancelledState, notProvided, onCancel, outputOf, recordError, stepsFor, type JobOutput } from '../../runtime/jobs/mod.js';
import type { ErrorBody } from '../../schemas/api.js';
import type { Resolution } from '../../schemas/common.js';
import type { MeasureResult, QualityMetric, VmafModel } from '../../schemas/vqs.js';

/** The request after admission: media resolved under the root, defaults applied. */
export interface VqsJobInput {
  referenceUri: string;
  referencePath: string;
  distortedUri: string;
  distortedPath: string;
  metrics: QualityMetric[];
  vmaf: { model: VmafModel; phoneModel: boolean };
  allowWithoutVmaf: boolean;
  compareAt: 'reference' | 'model' | Resolution;
  allowFrameCountMismatch: boolean;
  segmentFrames: number;
  report?: { uri: string; path: string };
  priority: 'high' | 'normal' | 'low';
}

export interface SidePlan {
  streamIndex: number;
  /** Display size. */
  width: number;
  height: number;
  frames: number;
  countedBy: 'frame-index' | 'decode';
}

export interface Plan {
  /** Metrics that will be measured (VMAF dropped, with its reason in notMeasured, when allowed and missing). */
  metrics: QualityMetric[];
  notMeasured: { metric: QualityMetric; reason: string }[];
  tool: { ffmpeg: string; libvmaf: string | null };
  reference: SidePlan;
  distorted: SidePlan;
  compare: { width: number; height: number; pixelFormat: string };
  /** Frame pairs scored: min of the two counts (equal unless a mismatch was allowed). */
  compared: number;
  segments: { index: number; startFrame: number; endFrame: number }[];
  /** Longest frame duration of the two sides' nominal rates: what a segment's time limit scales with. */
  secondsPerFrame: number;
}

export interface VqsContext {
  job: VqsJobInput;
  plan: Plan | null;
  result: MeasureResult | null;
  error: ErrorBody | null;
}

const actors = {
  plan: fromPromise<Plan, VqsJobInput>(notProvided('plan')),
  dispatch: fromPromise<void, { job: VqsJobInput; plan: Plan }>(notProvided('dispatch')),
  measure: fromPromise<MeasureResult, { job: VqsJobInput; plan: Plan }>(notProvided('measure')),
  clean: fromPromise<void, VqsJobInput>(notProvided('clean')),
};
const step = stepsFor<VqsContext, typeof actors>();

export const measurementMachine = setup({
  types: { input: {} as VqsJobInput, context: {} as VqsContext, output: {} as JobOutput, events: {} as CancelEvent },
  actions: { recordError: recordError<VqsContext>() },
  actors,
}).createMachine({
  id: 'vqs-measurement',
  context: ({ input }) => ({ job: input, plan: null, result: null, error: null }),
  initial: 'planning',
  on: onCancel,
  states: {
    planning: step('plan', { input: ({ context }) => context.job, assign: 'plan', next: 'dispatching' }),
    dispatching: step('dispatch', { input: ({ context }) => ({ job: context.job, plan: context.plan! }), next: 'measuring' }),
    measuring: step('measure', { input: ({ context }) => ({ job: context.job, plan: context.plan! }), assign: 'result', next: 'cleaning' }),
    // The result stands if cleaning fails; leftover records expire with the bucket's retention.
    cleaning: step('clean', { input: ({ context }) => context.job, next: 'done', onError: 'done' }),
    done: { type: 'final' },
    failed: { type: 'final' },
    cancelled: cancelledState<VqsContext>(),
  },
  output: ({ context }): JobOutput => outputOf(context, (c) => c.result),
});
