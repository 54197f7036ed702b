/**
 * Every job machine (VIS, VES, VVS, VQS, CAS), the VES chunk machine and the VQS segment machine, with fake steps:
 * a snapshot persisted mid-step survives a JSON round trip and finishes after a
 * restore, re-running only the step that was in flight; `{ type: 'cancel' }`
 * mid-step ends in `cancelled` and aborts the step's signal.
 */
import { describe, expect, it } from 'vitest';
import { createActor, fromPromise, SimulatedClock, toPromise, waitFor } from 'xstate';
import { chunkClock, type ChunkContext, chunkMachine, type ChunkRecord } from '../actors/ves/chunk-machine.js';
import type { ChunkEncodeOutput } from '../actors/ves/compute/encode-chunk.js';
import type { ChunkWorkItem } from '../actors/ves/messages.js';
import { type Encoded, encodingMachine, type Plan, type VesJobInput } from '../actors/ves/workflow.js';
import type { ProbeData, ScanData } from '../actors/vis/compute/index.js';
import { inspectionMachine, type VisJobInput } from '../actors/vis/workflow.js';
import type { MeasureData } from '../actors/vvs/compute/index.js';
import { validationMachine, type VvsJobInput } from '../actors/vvs/workflow.js';
import type { SegmentResult, SegmentWorkItem } from '../actors/vqs/messages.js';
import { type MeasuredSegment, segmentMachine } from '../actors/vqs/segment-machine.js';
import { measurementMachine, type Plan as VqsPlan, type VqsJobInput } from '../actors/vqs/workflow.js';
import { analysisMachine, type CasJobInput, type Plan as CasPlan, type Planned, type SampleCut, type SampleIndexed, type Trial } from '../actors/cas/workflow.js';
import type { AnalyzeResult } from '../schemas/cas.js';
import type { MeasureResult } from '../schemas/vqs.js';
import { ErrorCodes, VpipeError } from '../runtime/core/mod.js';
import { runToCompletion } from '../runtime/jobs/mod.js';
import type { InspectResult } from '../schemas/vis.js';
import type { ValidateResult } from '../schemas/vvs.js';
import { CANCELLED_OUTPUT, cancelDuring, FakeSteps, finishFrom, persistAt } from './helpers/machine-steps.js';
import { type Encoded as StreamingEncoded, type LadderPlan, type Measured, type Packaged, type ReportInput, type SourceFacts, type StreamingJobInput, streamingMachine, type Tracks } from '../actors/streaming/workflow.js';
import type { StreamingResult } from '../schemas/streaming.js';
import { type DetectInput, type Encoded as StudioEncoded, type Marked, type StudioJobInput, studioMachine, type SubmitInput } from '../actors/studio/workflow.js';
import type { DetectResult, StudioResult } from '../schemas/studio.js';

describe('VIS inspection machine', () => {
  const job: VisJobInput = { uri: 'file:///m/a.mp4', path: '/m/a.mp4', decodeCheck: true };
  const provided = (steps: FakeSteps) =>
    inspectionMachine.provide({
      actors: {
        probe: steps.step<VisJobInput, ProbeData>('probe', () => ({ fake: 'probe' }) as unknown as ProbeData),
        scan: steps.step<{ job: VisJobInput; probe: ProbeData }, ScanData>('scan', () => ({ fake: 'scan' }) as unknown as ScanData),
        analyse: steps.step<{ job: VisJobInput; probe: ProbeData; scan: ScanData }, InspectResult>('analyse', (i) => ({ from: [i.probe, i.scan] }) as unknown as InspectResult),
      },
    });

  it('restored from a snapshot persisted while scanning, finishes re-running only the scan', async () => {
    const first = new FakeSteps(['scan']);
    const persisted = await persistAt(provided(first), job, 'scanning');
    expect(first.signals.get('scan')?.aborted).toBe(true); // stopping the actor (shutdown) kills the step too

    const { steps: second, snap } = await finishFrom(provided, job, persisted);
    expect(second.calls).toEqual(['scan', 'analyse']);
    expect(snap.value).toBe('succeeded');
    expect(snap.output).toEqual({ ok: true, result: { from: [{ fake: 'probe' }, { fake: 'scan' }] } });
  });

  it('cancelled while scanning ends in cancelled with the CANCELLED output and aborts the scan', async () => {
    const { steps, persisted } = await cancelDuring(provided, job, 'scanning', 'scan');
    expect(steps.calls).toEqual(['probe', 'scan']);
    // A cancelled job's persisted snapshot reads back as the same end.
    const again = createActor(provided(new FakeSteps()), { input: job, snapshot: persisted }).start().getSnapshot();
    expect([again.status, again.value, again.output]).toEqual(['done', 'cancelled', CANCELLED_OUTPUT]);
  });
});

describe('VES encoding machine', () => {
  const job: VesJobInput = {
    sourcePath: '/m/src.mp4',
    sourceUri: 'file:///m/src.mp4',
    outputPath: '/m/out.mp4',
    outputUri: 'file:///m/out.mp4',
    container: 'mp4',
    recipe: { codec: 'h264' } as VesJobInput['recipe'],
    priority: 'normal',
    validate: true,
  };
  const plan = {
    source: { codec: 'h264', width: 64, height: 48, frameRate: { num: 25, den: 1 }, frames: 50, durationSeconds: 2, hasAudio: false },
    output: { width: 64, height: 48, gopFrames: 25, pixelFormat: 'yuv420p' },
    chunks: [{ index: 0 }, { index: 1 }],
    shape: 'small',
    threads: 1,
    workDir: '/m/.work',
    encoder: { name: 'libx264', version: 'test' },
  } as unknown as Plan;
  const encoded: Encoded = {
    results: [
      { index: 0, ok: true, encodeSeconds: 1 },
      { index: 1, ok: true, encodeSeconds: 1 },
    ],
    wallSeconds: 1,
  };
  const validation = { ok: true, discrepancies: [], measured: {} } as unknown as ValidateResult;
  const provided = (steps: FakeSteps) =>
    encodingMachine.provide({
      actors: {
        plan: steps.step<VesJobInput, Plan>('plan', () => plan),
        dispatch: steps.step<{ job: VesJobInput; plan: Plan }, void>('dispatch', () => undefined),
        awaitChunks: steps.step<{ job: VesJobInput; plan: Plan }, Encoded>('awaitChunks', () => encoded),
        assemble: steps.step<{ job: VesJobInput; plan: Plan; encoded: Encoded | null }, { bytes: number }>('assemble', () => ({ bytes: 1000 })),
        validate: steps.step<{ job: VesJobInput; plan: Plan; encoded: Encoded | null }, ValidateResult>('validate', () => validation),
      },
    });

  it('restored from a snapshot persisted while encoding, finishes re-running only the reduce and what follows', async () => {
    const first = new FakeSteps(['awaitChunks']);
    const persisted = await persistAt(provided(first), job, 'encoding');
    expect(first.calls).toEqual(['plan', 'dispatch', 'awaitChunks']);

    const { steps: second, snap } = await finishFrom(provided, job, persisted);
    expect(second.calls).toEqual(['awaitChunks', 'assemble', 'validate']);
    expect(second.inputs.get('assemble')).toEqual({ job, plan, encoded });
    expect(snap.value).toBe('succeeded');
    expect(snap.output).toMatchObject({ ok: true, result: { output: { uri: job.outputUri, sizeBytes: 1000, bitrateKbps: 4 }, chunks: 2, parallelism: 2, validation } });
  });

  it('cancelled while waiting for chunks ends in cancelled with the CANCELLED output and aborts the wait', async () => {
    const { steps } = await cancelDuring(provided, job, 'encoding', 'awaitChunks');
    expect(steps.calls).toEqual(['plan', 'dispatch', 'awaitChunks']);
  });

  it('a failed step still ends failed with its error (the kit keeps the wire body)', async () => {
    const steps = new FakeSteps();
    const failing = provided(steps).provide({
      actors: { assemble: fromPromise<{ bytes: number }, { job: VesJobInput; plan: Plan; encoded: Encoded | null }>(async () => Promise.reject(new VpipeError(ErrorCodes.ToolFailed, 'concat failed'))) },
    });
    const snap = await waitFor(createActor(failing, { input: job }).start(), (s) => s.status === 'done');
    expect(snap.value).toBe('failed');
    expect(snap.output).toEqual({ ok: false, error: { code: 'TOOL_FAILED', message: 'concat failed', retryable: false } });
  });
});

describe('VVS validation machine', () => {
  const job: VvsJobInput = { uri: 'file:///m/out.mp4', path: '/m/out.mp4', expectations: {} as VvsJobInput['expectations'] };
  const measured = { fake: 'measure' } as unknown as MeasureData;
  const provided = (steps: FakeSteps) =>
    validationMachine.provide({
      actors: {
        measure: steps.step<VvsJobInput, MeasureData>('measure', () => measured),
        compare: steps.step<{ job: VvsJobInput; measure: MeasureData }, ValidateResult>('compare', (i) => ({ ok: true, discrepancies: [], measured: i.measure }) as unknown as ValidateResult),
      },
    });

  it('restored from a snapshot persisted while comparing, compares without measuring again', async () => {
    const first = new FakeSteps(['compare']);
    const persisted = await persistAt(provided(first), job, 'comparing');

    const { steps: second, snap } = await finishFrom(provided, job, persisted);
    expect(second.calls).toEqual(['compare']);
    expect(snap.value).toBe('done');
    expect(snap.output).toEqual({ ok: true, result: { ok: true, discrepancies: [], measured } });
  });

  it('cancelled while measuring ends in cancelled with the CANCELLED output and aborts the measurement', async () => {
    const { steps } = await cancelDuring(provided, job, 'measuring', 'measure');
    expect(steps.calls).toEqual(['measure']);
  });
});

describe('VES chunk machine', () => {
  const item = { jobId: 'job1', chunk: { index: 3 }, outPath: '/m/.work/chunk-3.mkv' } as unknown as ChunkWorkItem;
  const out: ChunkEncodeOutput = { frames: 25, bytes: 500, encodeSeconds: 0.5, startSeconds: 0 };
  const input = { item, startedAt: 1_000, delivery: 2 };
  const provided = (steps: FakeSteps, now: () => number) =>
    chunkMachine.provide({
      actions: chunkClock(now),
      actors: {
        encode: steps.step<ChunkWorkItem, ChunkEncodeOutput>('encode', () => out),
        record: steps.step<ChunkRecord, void>('record', () => undefined),
      },
    });

  it('stamps the result with the injected clock, not the wall clock', async () => {
    const clock = new SimulatedClock();
    clock.increment(5_000);
    const steps = new FakeSteps();
    const output = await toPromise(createActor(provided(steps, () => clock.now()), { input, clock }).start());
    expect(output).toEqual({ ok: true, result: out });
    expect(steps.inputs.get('record')).toEqual({
      jobId: 'job1',
      delivery: 2,
      result: { index: 3, ok: true, path: item.outPath, frames: 25, bytes: 500, encodeSeconds: 0.5, startSeconds: 0, startedAt: 1_000, finishedAt: 5_000 },
    });
  });

  it('restored from a snapshot persisted while recording, records again with the same time and does not re-encode', async () => {
    const first = new FakeSteps(['record']);
    const persisted = await persistAt(provided(first, () => 7_000), input, 'recording');
    expect((persisted as unknown as { context: ChunkContext }).context.finishedAt).toBe(7_000);

    const { steps: second, snap } = await finishFrom((steps) => provided(steps, () => 9_999), input, persisted);
    expect(second.calls).toEqual(['record']);
    expect((second.inputs.get('record') as ChunkRecord).result.finishedAt).toBe(7_000);
    expect(snap.value).toBe('done');
    expect(snap.output).toEqual({ ok: true, result: out });
  });

  it('cancelled while encoding ends in cancelled with the CANCELLED output and aborts the encode', async () => {
    const { steps } = await cancelDuring((steps) => provided(steps, () => 0), input, 'encoding', 'encode');
    expect(steps.calls).toEqual(['encode']);
  });

  it('fails rather than read the wall clock when no clock is provided', async () => {
    const steps = new FakeSteps();
    const unclocked = chunkMachine.provide({ actors: { encode: steps.step<ChunkWorkItem, ChunkEncodeOutput>('encode', () => out) } });
    await expect(toPromise(createActor(unclocked, { input }).start())).rejects.toThrow(/no clock/);
    expect(steps.calls).toEqual(['encode']);
  });
});

describe('VQS measurement machine', () => {
  const job = { referencePath: '/m/ref.mkv', distortedPath: '/m/enc.mp4', metrics: ['psnr'] } as unknown as VqsJobInput;
  const plan = { metrics: ['psnr'], compared: 50, segments: [{ index: 0, startFrame: 0, endFrame: 50 }] } as unknown as VqsPlan;
  const result = { metrics: { psnr: { mean: 40 } }, segments: 1 } as unknown as MeasureResult;
  const provided = (steps: FakeSteps) =>
    measurementMachine.provide({
      actors: {
        plan: steps.step<VqsJobInput, VqsPlan>('plan', () => plan),
        dispatch: steps.step<{ job: VqsJobInput; plan: VqsPlan }, void>('dispatch', () => undefined),
        measure: steps.step<{ job: VqsJobInput; plan: VqsPlan }, MeasureResult>('measure', () => result),
        clean: steps.step<VqsJobInput, void>('clean', () => undefined),
      },
    });

  it('restored from a snapshot persisted while measuring, re-runs only the reduce and the clean-up', async () => {
    const first = new FakeSteps(['measure']);
    const persisted = await persistAt(provided(first), job, 'measuring');
    expect(first.calls).toEqual(['plan', 'dispatch', 'measure']);

    const { steps: second, snap } = await finishFrom(provided, job, persisted);
    expect(second.calls).toEqual(['measure', 'clean']);
    expect(second.inputs.get('measure')).toEqual({ job, plan });
    expect(snap.value).toBe('done');
    expect(snap.output).toEqual({ ok: true, result });
  });

  it('cancelled while waiting for segments ends in cancelled with the CANCELLED output and aborts the wait', async () => {
    const { steps } = await cancelDuring(provided, job, 'measuring', 'measure');
    expect(steps.calls).toEqual(['plan', 'dispatch', 'measure']);
  });
});

describe('VQS segment machine', () => {
  const item = { jobId: 'job1', index: 2 } as unknown as SegmentWorkItem;
  const measured: MeasuredSegment = { frames: 2, psnrY: [40, 41], seconds: 0.1 };
  const provided = (steps: FakeSteps) =>
    segmentMachine.provide({
      actors: {
        measure: steps.step<SegmentWorkItem, MeasuredSegment>('measure', () => measured),
        record: steps.step<{ jobId: string; result: SegmentResult }, void>('record', () => undefined),
      },
    });

  it('records the scores under its index and delivery, and is not re-measured when restored while recording', async () => {
    const first = new FakeSteps(['record']);
    const persisted = await persistAt(provided(first), { item, delivery: 3 }, 'recording');
    expect(first.inputs.get('record')).toEqual({ jobId: 'job1', result: { ...measured, index: 2, ok: true, delivery: 3 } });

    const { steps: second, snap } = await finishFrom(provided, { item, delivery: 3 }, persisted);
    expect(second.calls).toEqual(['record']);
    expect(snap.output).toEqual({ ok: true, result: measured });
  });

  it('cancelled while measuring ends in cancelled and aborts the measurement', async () => {
    const { steps } = await cancelDuring(provided, { item, delivery: 1 }, 'measuring', 'measure');
    expect(steps.calls).toEqual(['measure']);
  });
});

describe('CAS analysis machine', () => {
  const job = { sourcePath: '/m/src.mp4', codec: 'h264' } as unknown as CasJobInput;
  const plan = { key: 'k', workDir: '/m/.vpipe-work/cas/j' } as unknown as CasPlan;
  const sample: SampleCut = { path: '/m/.vpipe-work/cas/j/sample.mp4', frames: 50, sampledSeconds: 2, seconds: 1 };
  const index: SampleIndexed = { contentHash: 'c', seconds: 1 };
  const trials = [{ point: { width: 128, height: 72, crf: 23 } }] as unknown as Trial[];
  const result = { key: 'k', cached: false, points: [] } as unknown as AnalyzeResult;
  type Step = { job: CasJobInput; plan: CasPlan; sample: SampleCut };
  const provided = (steps: FakeSteps, stored: AnalyzeResult | null = null) =>
    analysisMachine.provide({
      actors: {
        plan: steps.step<CasJobInput, Planned>('plan', () => (stored ? { cached: stored, plan: null } : { cached: null, plan })),
        cut: steps.step<{ job: CasJobInput; plan: CasPlan }, SampleCut>('cut', () => sample),
        index: steps.step<Step, SampleIndexed>('index', () => index),
        trials: steps.step<Step, Trial[]>('trials', () => trials),
        store: steps.step<Step & { index: SampleIndexed; trials: Trial[] }, AnalyzeResult>('store', () => result),
      },
    });

  it('restored from a snapshot persisted while trialling, re-runs only the trials and the store', async () => {
    const first = new FakeSteps(['trials']);
    const persisted = await persistAt(provided(first), job, 'trialling');
    expect(first.calls).toEqual(['plan', 'cut', 'index', 'trials']);

    const { steps: second, snap } = await finishFrom(provided, job, persisted);
    expect(second.calls).toEqual(['trials', 'store']);
    expect(second.inputs.get('store')).toEqual({ job, plan, sample, index, trials });
    expect(snap.value).toBe('done');
    expect(snap.output).toEqual({ ok: true, result });
  });

  it('answers from the store right after planning, with no cut, index or trial', async () => {
    const stored = { ...result, cached: true };
    const steps = new FakeSteps();
    const snap = await waitFor(createActor(provided(steps, stored), { input: job }).start(), (s) => s.status === 'done');
    expect(steps.calls).toEqual(['plan']);
    expect([snap.value, snap.output]).toEqual(['done', { ok: true, result: stored }]);
  });

  it('cancelled while trialling ends in cancelled with the CANCELLED output and aborts the trials', async () => {
    const { steps } = await cancelDuring(provided, job, 'trialling', 'trials');
    expect(steps.calls).toEqual(['plan', 'cut', 'index', 'trials']);
  });
});

describe('streaming machine', () => {
  const job = { sourceUri: 'file:///m/src.mp4', outDir: '/m/out' } as unknown as StreamingJobInput;
  const source = { width: 640, height: 360, seconds: 1 } as unknown as SourceFacts;
  const ladder = { ladders: [], rungs: [{ id: 'h264-360p-365k' }], seconds: 1 } as unknown as LadderPlan;
  const encoded = { rungs: [{ id: 'h264-360p-365k', vesJobId: 'v1' }], seconds: 2 } as unknown as StreamingEncoded;
  const measured = { rungs: [], seconds: 1 } as unknown as Measured;
  const tracks = { audio: [], text: [], notes: [], seconds: 1 } as unknown as Tracks;
  const packaged = { result: {}, seconds: 1 } as unknown as Packaged;
  const result = { hls: { uri: 'file:///m/out/hls/main.m3u8' } } as unknown as StreamingResult;
  type WithJob<T> = { job: StreamingJobInput } & T;
  const provided = (steps: FakeSteps) =>
    streamingMachine.provide({
      actors: {
        inspect: steps.step<StreamingJobInput, SourceFacts>('inspect', () => source),
        ladder: steps.step<WithJob<{ source: SourceFacts }>, LadderPlan>('ladder', () => ladder),
        encode: steps.step<WithJob<{ ladder: LadderPlan }>, StreamingEncoded>('encode', () => encoded),
        measure: steps.step<WithJob<{ encoded: StreamingEncoded }>, Measured>('measure', () => measured),
        tracks: steps.step<WithJob<{ source: SourceFacts }>, Tracks>('tracks', () => tracks),
        package: steps.step<WithJob<{ encoded: StreamingEncoded; tracks: Tracks }>, Packaged>('package', () => packaged),
        report: steps.step<ReportInput, StreamingResult>('report', () => result),
      },
    });

  it('restored from a snapshot persisted while encoding, re-runs the encode step (its child jobs are found by key) and what follows, never the inspection or ladder', async () => {
    const first = new FakeSteps(['encode']);
    const persisted = await persistAt(provided(first), job, 'encoding');
    expect(first.calls).toEqual(['inspect', 'ladder', 'encode']);

    const { steps: second, snap } = await finishFrom(provided, job, persisted);
    expect(second.calls).toEqual(['encode', 'measure', 'tracks', 'package', 'report']);
    expect(second.inputs.get('report')).toEqual({ job, source, ladder, encoded, measured, tracks, packaged });
    expect(snap.output).toEqual({ ok: true, result });
  });

  it('cancelled while encoding ends in cancelled with the CANCELLED output and aborts the encode step', async () => {
    const { steps } = await cancelDuring(provided, job, 'encoding', 'encode');
    expect(steps.calls).toEqual(['inspect', 'ladder', 'encode']);
  });
});

describe('studio machine', () => {
  const job = { kind: 'submit', sourceUri: 'file:///m/src.mov', recipient: 'ed-42' } as unknown as SubmitInput;
  const detectJob = { kind: 'detect', leakPath: '/m/leak.mp4', originalPath: '/m/src.mov' } as unknown as DetectInput;
  const source = { width: 1920, height: 1080, seconds: 1 } as unknown as SourceFacts;
  const encoded = { results: [], variantPaths: ['/m/v0.mp4', '/m/v1.mp4'], reused: false, seconds: 2 } as unknown as StudioEncoded;
  const marked: Marked = { recipient: 'ed-42', payload: 0xabcdef, segments: 48, seconds: 1 };
  const result = { output: { uri: 'file:///m/out.mp4' } } as unknown as StudioResult;
  const detected = { recipient: 'ed-42', confidence: 1 } as unknown as DetectResult;
  const provided = (steps: FakeSteps) =>
    studioMachine.provide({
      actors: {
        inspect: steps.step<SubmitInput, SourceFacts>('inspect', () => source),
        encode: steps.step<{ job: SubmitInput; source: SourceFacts }, StudioEncoded>('encode', () => encoded),
        mark: steps.step<{ job: SubmitInput; encoded: StudioEncoded }, Marked | null>('mark', () => marked),
        report: steps.step<{ job: SubmitInput; source: SourceFacts; encoded: StudioEncoded; marked: Marked | null }, StudioResult>('report', () => result),
        detect: steps.step<DetectInput, DetectResult>('detect', () => detected),
      },
    });

  it('restored from a snapshot persisted while marking, re-runs the marking and the report only', async () => {
    const first = new FakeSteps(['mark']);
    const persisted = await persistAt(provided(first), job, 'marking');
    expect(first.calls).toEqual(['inspect', 'encode', 'mark']);
    const { steps: second, snap } = await finishFrom(provided, job, persisted);
    expect(second.calls).toEqual(['mark', 'report']);
    expect(second.inputs.get('report')).toEqual({ job, source, encoded, marked });
    expect(snap.output).toEqual({ ok: true, result });
  });

  it('a detect job runs the detector only', async () => {
    const steps = new FakeSteps();
    const snap = await waitFor(createActor(provided(steps), { input: detectJob as StudioJobInput }).start(), (s) => s.status === 'done');
    expect(steps.calls).toEqual(['detect']);
    expect(snap.output).toEqual({ ok: true, result: detected });
  });

  it('cancelled while encoding ends in cancelled and aborts the encode step', async () => {
    const { steps } = await cancelDuring(provided, job, 'encoding', 'encode');
    expect(steps.calls).toEqual(['inspect', 'encode']);
  });
});

describe('runToCompletion', () => {
  const item = { jobId: 'job1', chunk: { index: 0 }, outPath: '/m/c.mkv' } as unknown as ChunkWorkItem;
  const out: ChunkEncodeOutput = { frames: 1, bytes: 1, encodeSeconds: 0, startSeconds: null };
  const provided = (steps: FakeSteps) =>
    chunkMachine.provide({
      actions: chunkClock(() => 0),
      actors: { encode: steps.step<ChunkWorkItem, ChunkEncodeOutput>('encode', () => out), record: steps.step<ChunkRecord, void>('record', () => undefined) },
    });

  it("resolves with the machine's output", async () => {
    const steps = new FakeSteps();
    await expect(runToCompletion(provided(steps), { item, startedAt: 0, delivery: 1 }, new AbortController().signal)).resolves.toEqual({ ok: true, result: out });
    expect(steps.calls).toEqual(['encode', 'record']);
  });

  it('rejects with CANCELLED when its signal aborts, and the stopped step sees its own signal aborted', async () => {
    const steps = new FakeSteps(['encode']);
    const ac = new AbortController();
    const run = runToCompletion(provided(steps), { item, startedAt: 0, delivery: 1 }, ac.signal);
    await expect.poll(() => steps.calls).toEqual(['encode']);
    ac.abort();
    await expect(run).rejects.toMatchObject({ code: ErrorCodes.Cancelled });
    expect(steps.signals.get('encode')?.aborted).toBe(true);
  });

  it('rejects at once, running no step, when its signal has already aborted', async () => {
    const steps = new FakeSteps();
    const ac = new AbortController();
    ac.abort();
    await expect(runToCompletion(provided(steps), { item, startedAt: 0, delivery: 1 }, ac.signal)).rejects.toMatchObject({ code: ErrorCodes.Cancelled });
    expect(steps.calls).toEqual([]);
  });

  it("rejects with the actor's error when the machine itself fails", async () => {
    const unclocked = chunkMachine.provide({ actors: { encode: new FakeSteps().step<ChunkWorkItem, ChunkEncodeOutput>('encode', () => out) } });
    await expect(runToCompletion(unclocked, { item, startedAt: 0, delivery: 1 })).rejects.toThrow(/no clock/);
  });
});
