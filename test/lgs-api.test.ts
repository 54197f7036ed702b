/**
 * LGS end to end over a real nats-server: the ladder endpoint, a durable
 * job that asks CAS over NATS and waits for its result event, then builds
 * the ladder; the PSNR fallback, CAS failures passed on, cancellation, and
 * bad requests refused clearly.
 *
 * CAS here is a STAND-IN: a tiny service in this test on CAS's subject
 * (`vpipe.cas.analyze`, micro service `vpipe-cas`), hosted by the real
 * runtime, so LGS meets a real NATS responder and a real result event from
 * the events stream — but its points are synthetic curves, not trial
 * encodes. An end-to-end test with the real CAS (VES + VQS) is the lead's.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fromPromise, setup } from 'xstate';
import { readAnalysis } from '../actors/lgs/analysis.js';
import { lgsService } from '../actors/lgs/service.js';
import { ErrorCodes, ServiceRequestError, VpipeError } from '../runtime/core/mod.js';
import { cancelledState, type JobOutput, onCancel, outputOf, recordError, type ServiceDefinition, serviceIdentity, stepsFor } from '../runtime/jobs/mod.js';
import type { ErrorBody, JobEvent } from '../schemas/api.js';
import { AnalyzeRequest, AnalyzeResult } from '../schemas/cas.js';
import { LadderResult } from '../schemas/lgs.js';
import { syntheticPoints } from './helpers/lgs-curves.js';
import { startTestStack, type TestStack } from './helpers/stack.js';

// ---- the CAS stand-in: CAS's request schema, results parsed with CAS's result schema -----------

type FakeInput = { name: string; codec: AnalyzeRequest['codec']; allowWithoutVmaf: boolean };
type FakeContext = { job: FakeInput; result: AnalyzeResult | null; error: ErrorBody | null };

/** Every request the stand-in accepted, in order. */
const casRequests: AnalyzeRequest[] = [];

/**
 * Answers by the source's file name: `novmaf*` has no VMAF (fails with TOOL_MISSING unless allowed
 * without, as CAS does on VQS's refusal, else PSNR points), `broken*` fails, `slow*` never ends,
 * `small*` is a 1280x720 source, anything else 1920x1080.
 */
async function answer({ name, codec, allowWithoutVmaf }: FakeInput, signal: AbortSignal): Promise<AnalyzeResult> {
  if (name.startsWith('slow')) await new Promise((_, reject) => signal.addEventListener('abort', () => reject(new VpipeError(ErrorCodes.Cancelled, 'stopped'))));
  if (name.startsWith('broken')) throw new VpipeError(ErrorCodes.ToolFailed, 'trial 640x360 CRF 28 (ves job x) failed: the source is damaged');
  const noVmaf = name.startsWith('novmaf');
  if (noVmaf && !allowWithoutVmaf) throw new VpipeError(ErrorCodes.ToolMissing, 'VMAF unavailable: this ffmpeg has no libvmaf');
  const source = name.startsWith('small') ? { width: 1280, height: 720 } : { width: 1920, height: 1080 };
  const points = syntheticPoints().filter((p) => p.height <= source.height);
  const seconds = { trialEncodeSeconds: 8, measureSeconds: 4, sampleSeconds: 1, indexSeconds: 1, sourceIndexSeconds: 0, sampledSeconds: 12, titleSeconds: 60, plainEncodeSecondsEstimate: 20 };
  // Parsed with CAS's own result schema: the stand-in answers exactly what the real CAS may answer.
  return AnalyzeResult.parse({
    contentHash: `hash-of-${name}`,
    cached: false,
    key: `hash-of-${name}.${codec}.e000000000000.g0000000000000000`,
    codec,
    encoder: { name: 'libx264', version: 'stand-in' },
    metric: noVmaf ? 'psnr' : 'vmaf',
    notMeasured: noVmaf ? [{ metric: 'vmaf', reason: 'this ffmpeg has no libvmaf' }] : [],
    source: { ...source, frameRate: { num: 25, den: 1 }, titleSeconds: 60 },
    grid: { heights: [...new Set(points.map((p) => p.height))], crfs: [...new Set(points.map((p) => p.crf))], gopSeconds: 2 },
    preset: 'veryfast',
    sample: { mode: 'spread', access: 'random-access', segments: [{ startFrame: 0, frames: 300, startSeconds: 0 }], segmentSeconds: 4, frames: 300, sampledSeconds: 12, fraction: 0.2 },
    points: points.map((p) => {
      const psnr = 25 + p.quality / 5; // a PSNR that rises with the VMAF of the synthetic curves
      return { width: p.width, height: p.height, crf: p.crf, kbps: p.kbps, psnr, ...(noVmaf ? {} : { vmaf: p.quality }), quality: noVmaf ? psnr : p.quality, bytes: 1, encodeSeconds: 1 };
    }),
    cost: { ...seconds, estimateBasis: 'stand-in', multiple: 0.7, wallSeconds: 10, wallMultiple: 0.5 },
    analyzedAt: new Date().toISOString(),
  });
}

const fakeActors = { answer: fromPromise<AnalyzeResult, FakeInput>(({ input, signal }) => answer(input, signal)) };
const fakeStep = stepsFor<FakeContext, typeof fakeActors>();
const fakeCasMachine = setup({
  types: { input: {} as FakeInput, context: {} as FakeContext, output: {} as JobOutput, events: {} as { type: 'cancel' } },
  actions: { recordError: recordError<FakeContext>() },
  actors: fakeActors,
}).createMachine({
  context: ({ input }) => ({ job: input, result: null, error: null }),
  initial: 'answering',
  on: onCancel,
  states: {
    answering: fakeStep('answer', { input: ({ context }) => context.job, assign: 'result', next: 'done' }),
    done: { type: 'final' },
    failed: { type: 'final' },
    cancelled: cancelledState<FakeContext>(),
  },
  output: ({ context }): JobOutput => outputOf(context, (c) => c.result),
});

const fakeCas: ServiceDefinition<AnalyzeRequest, FakeInput> = {
  ...serviceIdentity({ id: 'cas', endpoint: 'analyze', version: '0.0.0-stand-in', request: AnalyzeRequest, description: 'stand-in CAS for the LGS tests: synthetic rate–quality points' }),
  async admit(req) {
    casRequests.push(req);
    return { input: { name: path.basename(req.source.uri), codec: req.codec, allowWithoutVmaf: req.allowWithoutVmaf ?? false }, priority: req.priority ?? 'low' };
  },
  workflow: () => fakeCasMachine,
};

// ---- the suite --------------------------------------------------------------------------------

let stack: TestStack;
const uri = (name: string) => `file://${path.join(stack.root, name)}`;

beforeAll(async () => {
  stack = await startTestStack('lgs', { services: [lgsService, fakeCas] as ServiceDefinition[], concurrency: 4, metricsPort: 0 }, async (dir) => {
    // The stand-in never reads them; LGS only checks they lie under the media root.
    for (const name of ['src.mp4', 'small.mp4', 'novmaf.mp4', 'broken.mp4', 'slow.mp4']) fs.writeFileSync(path.join(dir, name), 'not read');
  });
});

afterAll(async () => {
  await stack?.cleanup();
});

async function ladder(body: object): Promise<JobEvent> {
  const jobId = await stack.client.submit('vpipe.lgs.ladder', body, 'json');
  return stack.client.waitForResult('lgs', jobId, { timeoutMs: 60_000 });
}

async function built(body: object): Promise<LadderResult> {
  const ev = await ladder(body);
  expect(ev.state, JSON.stringify(ev.error)).toBe('succeeded');
  return LadderResult.parse(ev.result);
}

describe('discovery', () => {
  it('lists the ladder endpoint in $SRV.INFO.vpipe-lgs', async () => {
    const reply = await stack.client.nc.request('$SRV.INFO.vpipe-lgs', new Uint8Array(), { timeout: 2_000 });
    const info = JSON.parse(new TextDecoder().decode(reply.data)) as { endpoints: { subject: string }[] };
    expect(info.endpoints.map((e) => e.subject)).toContain('vpipe.lgs.ladder');
  });
});

describe('a ladder', () => {
  it('asks CAS once with the same source and codec, and answers rungs with recipes, the hull and the curves', async () => {
    const before = casRequests.length;
    const r = await built({ source: { uri: uri('src.mp4') }, codec: 'h264' });
    expect(casRequests.slice(before)).toEqual([{ source: { uri: uri('src.mp4') }, codec: 'h264', priority: 'normal' }]);
    expect(r.metric).toBe('vmaf');
    expect(r.rungs).toHaveLength(6);
    for (const [i, rung] of r.rungs.entries()) {
      expect(rung.predicted.vmaf).toBeLessThanOrEqual(95);
      expect(rung.recipe).toMatchObject({ codec: 'h264', resolution: { width: rung.width, height: rung.height }, rateControl: { mode: 'crf', value: rung.crf }, preset: 'veryfast' });
      if (i > 0) {
        expect(rung.kbps).toBeGreaterThan(r.rungs[i - 1]!.kbps);
        expect(rung.predicted.vmaf! - r.rungs[i - 1]!.predicted.vmaf!).toBeGreaterThanOrEqual(6 - 0.01);
      }
    }
    expect(r.hull.length).toBeGreaterThan(5);
    expect(r.hull.every((p) => typeof p.vmaf === 'number' && p.psnr === undefined)).toBe(true);
    expect(r.curves.map((c) => c.height)).toEqual([234, 360, 540, 720, 1080]);
    expect(r.source).toEqual({ width: 1920, height: 1080 });
    expect(r.analysis).toMatchObject({ contentHash: 'hash-of-src.mp4', cached: false, points: 40, cost: { multiple: 0.7 } });
    expect(r.constraints).toEqual({ rungs: 6, minKbps: 150, maxKbps: 8000, maxHeight: 1080, qualityCap: 95, minStep: 6, minKbpsRatio: 1.25 });
  });

  it('keeps to the constraints and the source’s size', async () => {
    const r = await built({ source: { uri: uri('src.mp4') }, codec: 'h264', constraints: { rungs: 4, maxHeight: 540, minKbps: 200, maxKbps: 3000, minStep: 8 } });
    expect(r.rungs.length).toBeLessThanOrEqual(4);
    expect(r.rungs.every((x) => x.height <= 540 && x.kbps >= 200 && x.kbps <= 3000)).toBe(true);
    const small = await built({ source: { uri: uri('small.mp4') }, codec: 'h264', constraints: { maxHeight: 2160 } });
    expect(small.constraints.maxHeight).toBe(720);
    expect(Math.max(...small.rungs.map((x) => x.height))).toBe(720);
  });

  it('is built on PSNR when CAS had no VMAF and the request allows it, and says so', async () => {
    const before = casRequests.length;
    const r = await built({ source: { uri: uri('novmaf.mp4') }, codec: 'h264', allowWithoutVmaf: true });
    expect(casRequests[before]).toMatchObject({ allowWithoutVmaf: true });
    expect(r.metric).toBe('psnr');
    expect(r.constraints).toMatchObject({ minStep: 1.5, qualityCap: 45 });
    expect(r.rungs.length).toBeGreaterThan(1);
    expect(r.rungs.every((x) => typeof x.predicted.psnr === 'number' && x.predicted.vmaf === undefined)).toBe(true);
    expect(r.hull.every((p) => p.vmaf === undefined)).toBe(true);
    expect(r.notes.join(' ')).toMatch(/built on PSNR \(dB\), not VMAF: CAS measured no VMAF \(this ffmpeg has no libvmaf\)/);
  });

  it('fails with TOOL_MISSING when CAS has no VMAF and the request does not allow going without', async () => {
    const ev = await ladder({ source: { uri: uri('novmaf.mp4') }, codec: 'h264' });
    expect(ev).toMatchObject({ state: 'failed', error: { code: 'TOOL_MISSING', message: expect.stringMatching(/^complexity analysis \S+ failed: VMAF unavailable/) } });
  });

  it('fails with CAS’s own error when the analysis fails', async () => {
    const ev = await ladder({ source: { uri: uri('broken.mp4') }, codec: 'h264' });
    expect(ev).toMatchObject({ state: 'failed', error: { code: 'TOOL_FAILED', message: expect.stringMatching(/complexity analysis \S+ failed: trial 640x360 CRF 28/) } });
  });
});

describe('cancelling a ladder', () => {
  it('stops waiting on CAS and ends cancelled', async () => {
    const jobId = await stack.client.submit('vpipe.lgs.ladder', { source: { uri: uri('slow.mp4') }, codec: 'h264' }, 'json');
    await expect.poll(async () => (await stack.client.status('lgs', jobId)).state, { timeout: 20_000, interval: 50 }).toBe('running');
    await expect.poll(() => casRequests.some((r) => r.source.uri === uri('slow.mp4')), { timeout: 20_000, interval: 50 }).toBe(true);
    expect(await stack.client.request('vpipe.lgs.cancel', { jobId })).toMatchObject({ state: 'cancelling' });
    const ev = await stack.client.waitForResult('lgs', jobId, { timeoutMs: 30_000 });
    expect(ev).toMatchObject({ state: 'cancelled', error: { code: 'CANCELLED' } });
  });
});

describe('bad requests', () => {
  const refusal = async (body: object) => {
    const e = await stack.client.request('vpipe.lgs.ladder', body, { encoding: 'json' }).then(
      () => null,
      (err: unknown) => err,
    );
    expect(e).toBeInstanceOf(ServiceRequestError);
    return (e as ServiceRequestError).body;
  };

  it('are refused with a clear error naming the field, and CAS is never asked', async () => {
    const before = casRequests.length;
    const src = { uri: uri('src.mp4') };
    expect(await refusal({ source: src })).toMatchObject({ code: 'SCHEMA_INVALID', details: [{ path: 'codec' }] });
    expect(await refusal({ source: src, codec: 'h264', constraints: { minKbps: 5000, maxKbps: 4000 } })).toMatchObject({ code: 'SCHEMA_INVALID', details: [{ path: 'constraints.minKbps', message: 'minKbps must be below maxKbps' }] });
    expect(await refusal({ source: src, codec: 'h264', constraints: { rungs: 0 } })).toMatchObject({ code: 'SCHEMA_INVALID', details: [{ path: 'constraints.rungs' }] });
    expect(await refusal({ source: src, codec: 'h264', constraints: { steps: 3 } })).toMatchObject({ code: 'SCHEMA_INVALID' });
    expect(await refusal({ source: { uri: '/etc/passwd' }, codec: 'h264' })).toMatchObject({ code: 'MEDIA_URI_FORBIDDEN' });
    expect(await refusal({ source: { uri: uri('missing.mp4') }, codec: 'h264' })).toMatchObject({ code: 'MEDIA_NOT_FOUND' });
    expect(casRequests.length).toBe(before);
  });
});

describe('reading CAS’s result', () => {
  it('refuses a result that is not CAS’s shape, naming the field, and a PSNR analysis the request did not allow', async () => {
    expect(() => readAnalysis('cas-9', { contentHash: 'x' }, false)).toThrow(/complexity analysis cas-9 returned an unreadable result \(cached: /);
    const psnr = await answer({ name: 'novmaf.mp4', codec: 'h264', allowWithoutVmaf: true }, new AbortController().signal);
    expect(() => readAnalysis('cas-9', psnr, false)).toThrow(expect.objectContaining({ code: 'TOOL_MISSING' }));
    expect(readAnalysis('cas-9', psnr, true)).toMatchObject({ metric: 'psnr', source: { width: 1920, height: 1080 }, encoder: { preset: 'veryfast' } });
  });
});
