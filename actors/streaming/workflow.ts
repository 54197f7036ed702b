/**
 * The streaming job as an XState machine, a DAG of nodes driven through the
 * services' NATS APIs: inspecting (VIS; a non-conformant source is refused
 * here) → laddering (LGS per codec, or the fixed ladder) → encoding (map: one
 * VES job per rung, all queued at once; reduce: every rung) → measuring (map:
 * one VQS job per rung) → tracks (audio renditions with two-pass EBU R128
 * loudness, WebVTT text, in this process) → packaging (CMAF segments, HLS and
 * DASH written by vpipe) → reporting (`report.json`) → done.
 *
 * The snapshot is persisted after every step. A step that was running when
 * its process died runs again on resume and finds its child jobs by their
 * idempotency keys: a rung VES already encoded is answered from the events
 * stream, never encoded twice. A pure declaration: `steps.ts` provides the steps.
 */
import { fromPromise, setup } from 'xstate';
import { type CancelEvent, cancelledState, type JobOutput, notProvided, onCancel, outputOf, recordError, stepsFor } from '../../runtime/jobs/mod.js';
import type { ErrorBody } from '../../schemas/api.js';
import type { Priority, Rational } from '../../schemas/common.js';
import type { LadderConstraints, LadderResult } from '../../schemas/lgs.js';
import type { AudioReport, StreamingResult, TextReport } from '../../schemas/streaming.js';
import type { DeliveryCodec as Codec, Recipe } from '../../schemas/ves.js';
import type { IssueCode } from '../../schemas/vis.js';
import type { AudioInput, PackageResult, TextInput } from './compute/types.js';

/** The request after admission: paths resolved under the media root, defaults applied. */
export interface StreamingJobInput {
  sourceUri: string;
  sourcePath: string;
  /** The package directory (created at admission). */
  outDir: string;
  codecs: Codec[];
  ladder: { mode: 'per-title' | 'fixed'; constraints?: LadderConstraints; allowWithoutVmaf: boolean };
  overrideIssues: IssueCode[];
  audio: { enabled: boolean; bitrateKbps: number; loudness: { integratedLufs: number; truePeakDb: number; lra: number } };
  subtitles: { path: string; uri: string; language: string; name?: string; default: boolean; forced: boolean }[];
  segmentSeconds: number;
  measure: boolean;
  priority: Priority;
  /** Epoch ms the job was admitted: the report's total time. */
  admittedAt: number;
}

/** What the job needs of VIS's inspection. */
export interface SourceFacts {
  /** Display size (sample aspect ratio applied), frame rate and length. */
  width: number;
  height: number;
  frameRate: Rational;
  frames: number;
  durationSeconds: number;
  /** The first video frame's time: t = 0 of every output (VES's rungs start there; audio and text are moved to it). */
  videoStartSeconds: number;
  audio: { index: number; codec: string; language: string | null; channels: number; layout: string | null }[];
  /** Error issues accepted because the request overrode them, and the warnings: into the report's notes. */
  notes: string[];
  seconds: number;
}

export interface PlannedRung {
  id: string;
  codec: Codec;
  width: number;
  height: number;
  recipe: Recipe;
  predicted?: { vmaf?: number; psnr?: number };
  crf?: number;
  /** The rung's target or predicted average kb/s. */
  kbps: number;
}

export interface LadderPlan {
  ladders: { codec: Codec; mode: 'per-title' | 'fixed'; lgsJobId: string | null; result: LadderResult | null }[];
  rungs: PlannedRung[];
  seconds: number;
}

export interface EncodedRung {
  id: string;
  vesJobId: string;
  path: string;
  uri: string;
  frames: number;
  kbps: number;
  encodeSeconds: number;
  speed: number;
  chunks: number;
}

export interface Encoded {
  rungs: EncodedRung[];
  seconds: number;
}

export interface MeasuredRung {
  id: string;
  vqsJobId: string;
  vmaf?: { mean: number; harmonicMean: number; min: number; p1: number; p5: number; model: string; version: string };
  psnr?: number;
  ssim?: number;
  notMeasured?: { metric: string; reason: string }[];
}

export interface Measured {
  /** Empty when the request asked for no measurement. */
  rungs: MeasuredRung[];
  seconds: number;
}

export interface Tracks {
  audio: (AudioInput & { report: Omit<AudioReport, 'codecs' | 'bandwidth' | 'averageBandwidth'> })[];
  text: (TextInput & { report: TextReport })[];
  notes: string[];
  seconds: number;
}

export interface Packaged {
  result: PackageResult;
  seconds: number;
}

export interface StreamingContext {
  job: StreamingJobInput;
  source: SourceFacts | null;
  ladder: LadderPlan | null;
  encoded: Encoded | null;
  measured: Measured | null;
  tracks: Tracks | null;
  packaged: Packaged | null;
  result: StreamingResult | null;
  error: ErrorBody | null;
}

/** Everything the report is written from: every step's output. */
export interface ReportInput {
  job: StreamingJobInput;
  source: SourceFacts;
  ladder: LadderPlan;
  encoded: Encoded;
  measured: Measured;
  tracks: Tracks;
  packaged: Packaged;
}

const actors = {
  inspect: fromPromise<SourceFacts, StreamingJobInput>(notProvided('inspect')),
  ladder: fromPromise<LadderPlan, { job: StreamingJobInput; source: SourceFacts }>(notProvided('ladder')),
  encode: fromPromise<Encoded, { job: StreamingJobInput; ladder: LadderPlan }>(notProvided('encode')),
  measure: fromPromise<Measured, { job: StreamingJobInput; encoded: Encoded }>(notProvided('measure')),
  tracks: fromPromise<Tracks, { job: StreamingJobInput; source: SourceFacts }>(notProvided('tracks')),
  package: fromPromise<Packaged, { job: StreamingJobInput; encoded: Encoded; tracks: Tracks }>(notProvided('package')),
  report: fromPromise<StreamingResult, ReportInput>(notProvided('report')),
};
const step = stepsFor<StreamingContext, typeof actors>();

export const streamingMachine = setup({
  types: { input: {} as StreamingJobInput, context: {} as StreamingContext, output: {} as JobOutput, events: {} as CancelEvent },
  actions: { recordError: recordError<StreamingContext>() },
  actors,
}).createMachine({
  id: 'streaming',
  context: ({ input }) => ({ job: input, source: null, ladder: null, encoded: null, measured: null, tracks: null, packaged: null, result: null, error: null }),
  initial: 'inspecting',
  on: onCancel,
  states: {
    inspecting: step('inspect', { input: ({ context }) => context.job, assign: 'source', next: 'laddering' }),
    laddering: step('ladder', { input: ({ context }) => ({ job: context.job, source: context.source! }), assign: 'ladder', next: 'encoding' }),
    encoding: step('encode', { input: ({ context }) => ({ job: context.job, ladder: context.ladder! }), assign: 'encoded', next: 'measuring' }),
    measuring: step('measure', { input: ({ context }) => ({ job: context.job, encoded: context.encoded! }), assign: 'measured', next: 'tracks' }),
    tracks: step('tracks', { input: ({ context }) => ({ job: context.job, source: context.source! }), assign: 'tracks', next: 'packaging' }),
    packaging: step('package', { input: ({ context }) => ({ job: context.job, encoded: context.encoded!, tracks: context.tracks! }), assign: 'packaged', next: 'reporting' }),
    reporting: step('report', {
      input: ({ context }) => ({
        job: context.job,
        source: context.source!,
        ladder: context.ladder!,
        encoded: context.encoded!,
        measured: context.measured!,
        tracks: context.tracks!,
        packaged: context.packaged!,
      }),
      assign: 'result',
      next: 'done',
    }),
    done: { type: 'final' },
    failed: { type: 'final' },
    cancelled: cancelledState<StreamingContext>(),
  },
  output: ({ context }): JobOutput => outputOf(context, (c) => c.result),
});
