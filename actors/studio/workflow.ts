/**
 * The studio job as an XState machine. A submit job: inspecting (VIS; what cannot be processed is
 * refused with VIS's issues) → encoding (VES at the job's priority, high by default, chunked
 * across every node; with a forensic mark, both variants with their chunk files kept) → marking
 * (the recipient's copy assembled from the variant sequence its payload spells) → reporting →
 * done. A detect job: detecting → done. The snapshot is persisted after every step; a step that
 * was running when its process died runs again and finds its VES jobs by their idempotency keys.
 * A pure declaration: `steps.ts` provides the steps.
 */
import { fromPromise, setup } from 'xstate';
import { type CancelEvent, cancelledState, type JobOutput, notProvided, onCancel, outputOf, recordError, stepsFor } from '../../runtime/jobs/mod.js';
import type { ErrorBody } from '../../schemas/api.js';
import type { Priority } from '../../schemas/common.js';
import type { DetectResult, StudioRecipeName, StudioResult } from '../../schemas/studio.js';
import type { BurnInSpec, EncodeResult, VisibleWatermark } from '../../schemas/ves.js';
import type { IssueCode } from '../../schemas/vis.js';
import type { SourceFacts } from '../streaming/workflow.js';

export interface SubmitInput {
  kind: 'submit';
  sourceUri: string;
  sourcePath: string;
  outputUri: string;
  outputPath: string;
  recipe: StudioRecipeName;
  burnIn?: BurnInSpec;
  visible?: VisibleWatermark;
  recipient?: string;
  overrideIssues: IssueCode[];
  priority: Priority;
  admittedAt: number;
}

export interface DetectInput {
  kind: 'detect';
  leakPath: string;
  originalPath: string;
  priority: Priority;
}

export type StudioJobInput = SubmitInput | DetectInput;

/** VES's answer(s): one encode, or the two forensic variants (chunk sets kept). */
export interface Encoded {
  results: { jobId: string; result: EncodeResult }[];
  /** Where each variant's output was written (forensic only). */
  variantPaths: string[];
  /** The chunk sets were already there from an earlier recipient of the same title. */
  reused: boolean;
  seconds: number;
}

export interface Marked {
  recipient: string;
  payload: number;
  segments: number;
  seconds: number;
}

export interface StudioContext {
  job: StudioJobInput;
  source: SourceFacts | null;
  encoded: Encoded | null;
  marked: Marked | null;
  result: StudioResult | DetectResult | null;
  error: ErrorBody | null;
}

const actors = {
  inspect: fromPromise<SourceFacts, SubmitInput>(notProvided('inspect')),
  encode: fromPromise<Encoded, { job: SubmitInput; source: SourceFacts }>(notProvided('encode')),
  mark: fromPromise<Marked | null, { job: SubmitInput; encoded: Encoded }>(notProvided('mark')),
  report: fromPromise<StudioResult, { job: SubmitInput; source: SourceFacts; encoded: Encoded; marked: Marked | null }>(notProvided('report')),
  detect: fromPromise<DetectResult, DetectInput>(notProvided('detect')),
};
const step = stepsFor<StudioContext, typeof actors>();
const submit = (c: StudioContext): SubmitInput => c.job as SubmitInput;

export const studioMachine = setup({
  types: { input: {} as StudioJobInput, context: {} as StudioContext, output: {} as JobOutput, events: {} as CancelEvent },
  actions: { recordError: recordError<StudioContext>() },
  guards: { isDetect: ({ context }) => context.job.kind === 'detect' },
  actors,
}).createMachine({
  id: 'studio',
  context: ({ input }) => ({ job: input, source: null, encoded: null, marked: null, result: null, error: null }),
  initial: 'starting',
  on: onCancel,
  states: {
    starting: { always: [{ guard: 'isDetect', target: 'detecting' }, { target: 'inspecting' }] },
    inspecting: step('inspect', { input: ({ context }) => submit(context), assign: 'source', next: 'encoding' }),
    encoding: step('encode', { input: ({ context }) => ({ job: submit(context), source: context.source! }), assign: 'encoded', next: 'marking' }),
    marking: step('mark', { input: ({ context }) => ({ job: submit(context), encoded: context.encoded! }), assign: 'marked', next: 'reporting' }),
    reporting: step('report', {
      input: ({ context }) => ({ job: submit(context), source: context.source!, encoded: context.encoded!, marked: context.marked }),
      assign: 'result',
      next: 'done',
    }),
    detecting: step('detect', { input: ({ context }) => context.job as DetectInput, assign: 'result', next: 'done' }),
    done: { type: 'final' },
    failed: { type: 'final' },
    cancelled: cancelledState<StudioContext>(),
  },
  output: ({ context }): JobOutput => outputOf(context, (c) => c.result),
});
