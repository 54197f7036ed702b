/**
 * The analysis job as an XState machine, a DAG of nodes: planning (grid,
 * sampling, store key; a stored analysis ends the job here) → sampling (one
 * lossless sample mezzanine) → indexing (VIS indexes the mezzanine, its
 * pictures checked) → trialling (map: one VES encode per grid point, all
 * queued at once, each then measured by VQS; reduce: every point) →
 * storing (the complexity store; work files removed) → done. A pure
 * declaration: `steps.ts` provides the steps.
 */
import { assign, fromPromise, setup } from 'xstate';
import { type CancelEvent, cancelledState, type JobOutput, notProvided, onCancel, outputOf, recordError, stepsFor } from '../../runtime/jobs/mod.js';
import type { ErrorBody } from '../../schemas/api.js';
import type { AnalyzeResult, Sample } from '../../schemas/cas.js';
import type { DeliveryCodec as Codec } from '../../schemas/ves.js';
import type { CutSegment } from './compute/cut.js';
import type { GridPoint, ResolvedGrid } from './compute/grid.js';
import type { Sampling } from './compute/sampling.js';
import type { SourceInfo } from './compute/source.js';

/** The request after admission: the source resolved under the media root and probed, the grid resolved. */
export interface CasJobInput {
  sourcePath: string;
  sourceUri: string;
  codec: Codec;
  info: SourceInfo;
  grid: ResolvedGrid;
  sample?: Sample;
  priority: 'high' | 'normal' | 'low';
  allowWithoutVmaf: boolean;
  /** `<media root>/.vpipe-work/cas`: each job works in `<workRoot>/<jobId>`. */
  workRoot: string;
}

export interface Plan {
  contentHash: string;
  key: string;
  encoder: { name: string; version: string };
  titleSeconds: number;
  sampling: Sampling;
  access: 'random-access' | 'decode-from-start';
  segments: (CutSegment & { startSeconds: number })[];
  workDir: string;
  /** Seconds VIS took to index the source for this analysis (0 when its index was in the store). */
  sourceIndexSeconds: number;
  /** Epoch ms the analysis started (the wall time in the cost block). */
  startedAt: number;
}

export interface Planned {
  /** An analysis already in the store for this content and settings: the job's answer. */
  cached: AnalyzeResult | null;
  plan: Plan | null;
}

export interface SampleCut {
  path: string;
  frames: number;
  sampledSeconds: number;
  seconds: number;
}

export interface SampleIndexed {
  contentHash: string;
  seconds: number;
}

/** One grid point's trial: the VES encode and the VQS measurement of it. */
export interface Trial {
  point: GridPoint;
  bytes: number;
  encodeSeconds: number;
  encoder: { name: string; version: string };
  measureSeconds: number;
  vmaf?: { mean: number; model: string; version: string };
  psnr?: number;
  ssim?: number;
  /** Why VMAF was not measured (VQS's notMeasured), when it was not. */
  noVmaf?: string;
}

export interface CasContext {
  job: CasJobInput;
  plan: Plan | null;
  sample: SampleCut | null;
  index: SampleIndexed | null;
  trials: Trial[] | null;
  result: AnalyzeResult | null;
  error: ErrorBody | null;
}

const actors = {
  plan: fromPromise<Planned, CasJobInput>(notProvided('plan')),
  cut: fromPromise<SampleCut, { job: CasJobInput; plan: Plan }>(notProvided('cut')),
  index: fromPromise<SampleIndexed, { job: CasJobInput; plan: Plan; sample: SampleCut }>(notProvided('index')),
  trials: fromPromise<Trial[], { job: CasJobInput; plan: Plan; sample: SampleCut }>(notProvided('trials')),
  store: fromPromise<AnalyzeResult, { job: CasJobInput; plan: Plan; sample: SampleCut; index: SampleIndexed; trials: Trial[] }>(notProvided('store')),
};
const step = stepsFor<CasContext, typeof actors>();

export const analysisMachine = setup({
  types: { input: {} as CasJobInput, context: {} as CasContext, output: {} as JobOutput, events: {} as CancelEvent },
  actions: { recordError: recordError<CasContext>() },
  actors,
}).createMachine({
  id: 'cas-analysis',
  context: ({ input }) => ({ job: input, plan: null, sample: null, index: null, trials: null, result: null, error: null }),
  initial: 'planning',
  on: onCancel,
  states: {
    // The one branch: a stored analysis is the answer, and the job ends here.
    planning: {
      invoke: {
        src: 'plan',
        input: ({ context }) => context.job,
        onDone: [
          { guard: ({ event }) => event.output.cached !== null, target: 'done', actions: assign({ result: ({ event }) => event.output.cached }) },
          { target: 'sampling', actions: assign({ plan: ({ event }) => event.output.plan }) },
        ],
        onError: { target: 'failed', actions: 'recordError' },
      },
    },
    sampling: step('cut', { input: ({ context }) => ({ job: context.job, plan: context.plan! }), assign: 'sample', next: 'indexing' }),
    indexing: step('index', { input: ({ context }) => ({ job: context.job, plan: context.plan!, sample: context.sample! }), assign: 'index', next: 'trialling' }),
    trialling: step('trials', { input: ({ context }) => ({ job: context.job, plan: context.plan!, sample: context.sample! }), assign: 'trials', next: 'storing' }),
    storing: step('store', {
      input: ({ context }) => ({ job: context.job, plan: context.plan!, sample: context.sample!, index: context.index!, trials: context.trials! }),
      assign: 'result',
      next: 'done',
    }),
    done: { type: 'final' },
    failed: { type: 'final' },
    cancelled: cancelledState<CasContext>(),
  },
  output: ({ context }): JobOutput => outputOf(context, (c) => c.result),
});
