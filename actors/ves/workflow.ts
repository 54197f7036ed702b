/**
 * The encoding job as an XState machine, a DAG of nodes:
 * planning (splitter) → dispatching (map: one work item per chunk) →
 * encoding (reduce: waits for every chunk result) → assembling →
 * validating (VVS over NATS) → succeeded; the runtime's result event is the
 * notifier. Pure declaration: `steps.ts` provides the steps.
 */
import { assign, fromPromise, setup } from 'xstate';
import { type CancelEvent, cancelledState, type JobOutput, notProvided, onCancel, outputOf, recordError, stepsFor } from '../../runtime/jobs/mod.js';
import type { ErrorBody } from '../../schemas/api.js';
import type { ChunkPlan, Container, EncodeResult, Recipe } from '../../schemas/ves.js';
import type { ValidateResult } from '../../schemas/vvs.js';
import type { ChunkResult } from './messages.js';

/** Where a keepChunks job leaves its chunk files: next to the output. */
export const chunkSetUri = (outputUri: string): string => `${outputUri}.chunks`;
export const CHUNK_MANIFEST = 'chunks.json';

export interface VesJobInput {
  sourcePath: string;
  sourceUri: string;
  outputPath: string;
  outputUri: string;
  container: Container;
  recipe: Recipe;
  priority: 'high' | 'normal' | 'low';
  validate: boolean;
  /** Keep the chunk files in `<output>.chunks/` with a manifest (EncodeRequest output.keepChunks). */
  keepChunks?: boolean;
  /** Resolved at admission (admit-drawing.ts): the timecode of the source's first frame, and where it came from. */
  timecodeStart?: string;
  timecodeFrom?: string;
  watermarkImagePath?: string;
  watermarkImageSize?: { width: number; height: number };
}

export interface Plan {
  /** width/height as shown (after the display matrix's turn, which `rotation` gives clockwise). */
  source: { codec: string; width: number; height: number; rotation?: 0 | 90 | 180 | 270; frameRate: { num: number; den: number }; frames: number; durationSeconds: number; hasAudio: boolean };
  output: { width: number; height: number; gopFrames: number; pixelFormat: string };
  chunks: ChunkPlan[];
  shape: string;
  threads: number;
  workDir: string;
  encoder: { name: string; version: string };
  /** From the source's frame index: exact chunk starts in its time base (relative to the first frame), and how splitting went. */
  index?: {
    contentHash: string;
    streamIndex: number;
    timeBase: { num: number; den: number };
    /** The first frame's time, relative to the container start. */
    firstTicks: number;
    startTicks: number[];
    endTicks: number;
    verifiedRandomAccessPoints: number;
    splitting: 'random-access' | 'pre-roll' | 'single-chunk';
    preRollFrames: number;
  };
}

export interface Encoded {
  results: ChunkResult[];
  /** Wall seconds from the first chunk start to the last chunk end. */
  wallSeconds: number;
}

export interface VesContext {
  job: VesJobInput;
  plan: Plan | null;
  encoded: Encoded | null;
  bytes: number | null;
  validation: ValidateResult | null;
  error: ErrorBody | null;
}

const actors = {
  plan: fromPromise<Plan, VesJobInput>(notProvided('plan')),
  dispatch: fromPromise<void, { job: VesJobInput; plan: Plan }>(notProvided('dispatch')),
  awaitChunks: fromPromise<Encoded, { job: VesJobInput; plan: Plan }>(notProvided('awaitChunks')),
  assemble: fromPromise<{ bytes: number }, { job: VesJobInput; plan: Plan; encoded: Encoded | null }>(notProvided('assemble')),
  validate: fromPromise<ValidateResult, { job: VesJobInput; plan: Plan; encoded: Encoded | null }>(notProvided('validate')),
};
const step = stepsFor<VesContext, typeof actors>();

export const encodingMachine = setup({
  types: { input: {} as VesJobInput, context: {} as VesContext, output: {} as JobOutput, events: {} as CancelEvent },
  actions: {
    recordError: recordError<VesContext>(),
  },
  guards: {
    wantsValidation: ({ context }) => context.job.validate,
  },
  actors,
}).createMachine({
  id: 'ves-encoding',
  context: ({ input }) => ({ job: input, plan: null, encoded: null, bytes: null, validation: null, error: null }),
  initial: 'planning',
  on: onCancel,
  states: {
    planning: step('plan', { input: ({ context }) => context.job, assign: 'plan', next: 'dispatching' }),
    dispatching: step('dispatch', { input: ({ context }) => ({ job: context.job, plan: context.plan! }), next: 'encoding' }),
    encoding: step('awaitChunks', { input: ({ context }) => ({ job: context.job, plan: context.plan! }), assign: 'encoded', next: 'assembling' }),
    assembling: {
      invoke: {
        src: 'assemble',
        input: ({ context }) => ({ job: context.job, plan: context.plan!, encoded: context.encoded }),
        onDone: [
          { guard: 'wantsValidation', target: 'validating', actions: assign({ bytes: ({ event }) => event.output.bytes }) },
          { target: 'succeeded', actions: assign({ bytes: ({ event }) => event.output.bytes }) },
        ],
        onError: { target: 'failed', actions: 'recordError' },
      },
    },
    validating: {
      invoke: {
        src: 'validate',
        input: ({ context }) => ({ job: context.job, plan: context.plan!, encoded: context.encoded }),
        onDone: [
          { guard: ({ event }) => event.output.ok, target: 'succeeded', actions: assign({ validation: ({ event }) => event.output }) },
          {
            target: 'failed',
            actions: assign({
              validation: ({ event }) => event.output,
              error: ({ event }) => validationError(event.output),
            }),
          },
        ],
        onError: { target: 'failed', actions: 'recordError' },
      },
    },
    succeeded: { type: 'final' },
    failed: { type: 'final' },
    cancelled: cancelledState<VesContext>(),
  },
  output: ({ context }): JobOutput => outputOf(context, (c) => (c.plan && c.encoded ? encodeResult(c) : null)),
});

function validationError(v: ValidateResult): ErrorBody {
  // Wrong pictures or frame times are a different failure from a wrong profile or bitrate: they mean the encode is not the source.
  const content = v.discrepancies.some((d) => d.field.startsWith('content.'));
  return {
    code: content ? 'CONTENT_MISMATCH' : 'VALIDATION_FAILED',
    message: `the output failed validation: ${v.discrepancies.map((d) => d.message).join('; ')}`.slice(0, 2000),
    retryable: false,
    details: v.discrepancies.map((d) => ({ path: d.field, message: `expected ${JSON.stringify(d.expected)}, got ${JSON.stringify(d.actual)}` })),
  };
}

/** The job result, from what the steps left in context. */
export function encodeResult(c: VesContext): EncodeResult {
  const plan = c.plan!;
  const enc = c.encoded!;
  const bytes = c.bytes ?? 0;
  const chunkSeconds = enc.results.reduce((s, r) => s + (r.encodeSeconds ?? 0), 0);
  const result: EncodeResult = {
    output: { uri: c.job.outputUri, container: c.job.container, sizeBytes: bytes, bitrateKbps: plan.source.durationSeconds > 0 ? (bytes * 8) / 1000 / plan.source.durationSeconds : 0 },
    frames: plan.source.frames,
    durationSeconds: plan.source.durationSeconds,
    chunks: plan.chunks.length,
    encodeSeconds: enc.wallSeconds,
    parallelism: enc.wallSeconds > 0 ? chunkSeconds / enc.wallSeconds : 1,
    speed: enc.wallSeconds > 0 ? plan.source.durationSeconds / enc.wallSeconds : 0,
    encoder: plan.encoder,
  };
  if (c.validation) result.validation = c.validation;
  if (c.job.keepChunks) result.chunkSet = { uri: chunkSetUri(c.job.outputUri), chunks: plan.chunks.length, manifest: CHUNK_MANIFEST };
  if (c.job.timecodeStart) result.burnIn = { timecodeStart: c.job.timecodeStart, timecodeFrom: c.job.timecodeFrom ?? 'request' };
  if (plan.index) {
    result.source = {
      contentHash: plan.index.contentHash,
      frames: plan.source.frames,
      verifiedRandomAccessPoints: plan.index.verifiedRandomAccessPoints,
      splitting: plan.index.splitting,
      preRollFrames: plan.index.preRollFrames,
      preRollFraction: plan.source.frames > 0 ? plan.index.preRollFrames / plan.source.frames : 0,
    };
  }
  return result;
}
