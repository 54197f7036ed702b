/**
 * CAS end to end over a real nats-server with real VIS, VES and VQS (real
 * ffmpeg, real libvmaf): a small grid on a generated source and on a corpus
 * file sampled in two segments — points monotone in CRF — a second analysis
 * of the same content at another path answered from the store with no new
 * trial, bad requests refused clearly, and a cancel mid-analysis that
 * cancels the child jobs and removes the work files.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { casService, WORK_AREA } from '../actors/cas/service.js';
import { vesService } from '../actors/ves/service.js';
import { visService } from '../actors/vis/service.js';
import { vqsService } from '../actors/vqs/service.js';
import { metrics, ServiceRequestError } from '../runtime/core/mod.js';
import type { ServiceDefinition } from '../runtime/jobs/service-definition.js';
import type { JobEvent } from '../schemas/api.js';
import type { AnalyzeResult, ComplexityPoint } from '../schemas/cas.js';
import { corpusFile } from './corpus/manifest.js';
import { ffmpeg } from './helpers/media.js';
import { startTestStack, type TestStack } from './helpers/stack.js';
import { ensureVmafFfmpeg } from './helpers/vqs-media.js';

let stack: TestStack;
const files: Record<string, string> = {};
const GRID = { heights: [72, 144], crfs: [23, 38] };

beforeAll(async () => {
  ensureVmafFfmpeg();
  stack = await startTestStack('cas', { services: [visService, vesService, vqsService, casService] as ServiceDefinition[], encoderActors: 2, concurrency: 8, metricsPort: 0 }, async (dir) => {
    // 3 s of texture and motion at 256x144 (75 frames): shorter than the default sample, so it is analysed whole.
    files.generated = path.join(dir, 'gen.mp4');
    await ffmpeg(['-f', 'lavfi', '-i', 'testsrc2=size=256x144:rate=25:duration=3', '-c:v', 'libx264', '-preset', 'veryfast', '-crf', '16', '-pix_fmt', 'yuv420p', '-f', 'mp4', files.generated]);
    fs.mkdirSync(path.join(dir, 'elsewhere'));
    files.copy = path.join(dir, 'elsewhere', 'same-bytes.mp4');
    fs.copyFileSync(files.generated, files.copy);
    // 208 s of H.264 High at 128x96, 17 fps in a 1/90000 time base: sampled in two 1.5 s segments.
    files.corpus = path.join(dir, 'soundwave.mp4');
    fs.copyFileSync(corpusFile('soundwave.mp4'), files.corpus);
  });
});

afterAll(async () => {
  await stack?.cleanup();
});

/** Jobs the API layer of `service` accepted in this process so far. */
async function accepted(service: string): Promise<number> {
  return (await metrics.jobsAccepted.get()).values.find((v) => v.labels.service === service)?.value ?? 0;
}

async function analyse(body: object, timeoutMs = 240_000): Promise<JobEvent> {
  const jobId = await stack.client.submit('vpipe.cas.analyze', body, 'json');
  return stack.client.waitForResult('cas', jobId, { timeoutMs });
}

async function analysed(body: object): Promise<AnalyzeResult> {
  const ev = await analyse(body);
  expect(ev.state, JSON.stringify(ev.error)).toBe('succeeded');
  return ev.result as AnalyzeResult;
}

/** Higher CRF → fewer kbps and lower VMAF, at every height. */
function expectMonotoneInCrf(points: ComplexityPoint[]): void {
  for (const h of new Set(points.map((p) => p.height))) {
    const row = points.filter((p) => p.height === h).sort((a, b) => a.crf - b.crf);
    for (let i = 1; i < row.length; i++) {
      expect(row[i]!.kbps, `kbps at ${h}p CRF ${row[i]!.crf}`).toBeLessThan(row[i - 1]!.kbps);
      expect(row[i]!.vmaf!, `VMAF at ${h}p CRF ${row[i]!.crf}`).toBeLessThan(row[i - 1]!.vmaf!);
    }
  }
}

const summary = (r: AnalyzeResult) => ({ points: r.points.map((p) => `${p.width}x${p.height} crf${p.crf}: ${p.kbps} kbps, VMAF ${p.vmaf?.toFixed(2)}`), cost: r.cost, sample: r.sample });

describe('discovery', () => {
  it('lists the analyze endpoint in $SRV.INFO.vpipe-cas', async () => {
    const reply = await stack.client.nc.request('$SRV.INFO.vpipe-cas', new Uint8Array(), { timeout: 2_000 });
    const info = JSON.parse(new TextDecoder().decode(reply.data)) as { endpoints: { subject: string }[] };
    expect(info.endpoints.map((e) => e.subject)).toContain('vpipe.cas.analyze');
  });
});

describe('an analysis', () => {
  let first: AnalyzeResult;
  let vesBefore: number;

  it('of a generated source: four trials, points monotone in CRF, stored, work files removed', async () => {
    vesBefore = await accepted('ves');
    first = await analysed({ source: { uri: `file://${files.generated}` }, codec: 'h264', grid: GRID });
    console.log('generated', JSON.stringify(summary(first), null, 1));
    expect(await accepted('ves')).toBe(vesBefore + 4);
    expect(first).toMatchObject({ cached: false, codec: 'h264', metric: 'vmaf', notMeasured: [], preset: 'veryfast', encoder: { name: 'libx264', version: expect.stringMatching(/^x264 core \d+/) } });
    expect(first.key).toMatch(new RegExp(`^${first.contentHash}\\.h264\\.e[0-9a-f]{12}\\.g[0-9a-f]{16}$`));
    expect(first.sample).toMatchObject({ mode: 'whole', access: 'random-access', frames: 75, sampledSeconds: 3, fraction: 1 });
    expect(first.points.map((p) => [p.width, p.height, p.crf])).toEqual([
      [128, 72, 23],
      [128, 72, 38],
      [256, 144, 23],
      [256, 144, 38],
    ]);
    expectMonotoneInCrf(first.points);
    for (const p of first.points) {
      expect(p.quality).toBe(p.vmaf);
      expect(p.kbps).toBeCloseTo((p.bytes * 8) / 1000 / 3, 2);
      expect(p.psnr).toBeGreaterThan(20);
      expect(p.ssim).toBeGreaterThan(0.5);
    }
    expect(first.cost.plainEncodeSecondsEstimate).toBeGreaterThan(0);
    expect(first.cost.multiple).toBeGreaterThan(0);
    expect(first.cost.estimateBasis).toMatch(/^estimate: the 256x144 CRF 38 trial/);
    expect(fs.readdirSync(path.join(stack.root, WORK_AREA))).toEqual([]);
    const stored = await stack.node.ctx.topology.complexity.get(first.key);
    expect(stored?.operation).toBe('PUT');
  });

  it('of the same content at another path: answered from the store, no new encode, identical points', async () => {
    const vesNow = await accepted('ves');
    const vqsNow = await accepted('vqs');
    const again = await analysed({ source: { uri: files.copy }, codec: 'h264', grid: GRID });
    expect(again.cached).toBe(true);
    expect(await accepted('ves')).toBe(vesNow);
    expect(await accepted('vqs')).toBe(vqsNow);
    expect(again.points).toEqual(first.points);
    expect({ ...again, cached: false }).toEqual(first);
  });

  it('of a real corpus file, sampled in two segments from verified random-access points', async () => {
    const r = await analysed({ source: { uri: files.corpus }, codec: 'h264', grid: { heights: [48, 96], crfs: [23, 38] }, sample: { segments: 2, segmentSeconds: 1.5 } });
    console.log('soundwave.mp4', JSON.stringify(summary(r), null, 1));
    // 1.5 s at the index's 17.0 fps is 25 frames, centred in each half of the title's 3544 frames.
    expect(r.sample).toMatchObject({ mode: 'spread', access: 'random-access', frames: 50, segmentSeconds: 1.5 });
    expect(r.sample.segments.map((s) => [s.startFrame, s.frames])).toEqual([
      [874, 25],
      [2646, 25],
    ]);
    expect(r.sample.fraction).toBeLessThan(0.02);
    // Its pixels are 21:16 (display aspect 7:4): the widths follow the display, as a player shows it.
    expect(r.points.map((p) => `${p.width}x${p.height}`)).toEqual(['84x48', '84x48', '168x96', '168x96']);
    expectMonotoneInCrf(r.points);
    expect(r.cost.titleSeconds).toBeGreaterThan(200);
    expect(r.cost.plainEncodeSecondsEstimate).toBeGreaterThan(r.points.find((p) => p.height === 96 && p.crf === 38)!.encodeSeconds);
  });
});

describe('bad requests', () => {
  const refusal = async (body: object) => {
    const e = await stack.client.request('vpipe.cas.analyze', body, { encoding: 'json' }).then(
      () => null,
      (err: unknown) => err,
    );
    expect(e).toBeInstanceOf(ServiceRequestError);
    return (e as ServiceRequestError).body;
  };

  it('are refused with a clear error naming the field, and nothing is started', async () => {
    const before = await accepted('cas');
    const src = { uri: files.generated };
    expect(await refusal({ source: src, codec: 'mpeg2' })).toMatchObject({ code: 'SCHEMA_INVALID', details: [{ path: 'codec' }] });
    expect(await refusal({ source: src, codec: 'h264', grid: { crfs: [23, 60] } })).toMatchObject({ code: 'SCHEMA_INVALID', details: [{ path: 'grid.crfs.1', message: 'h264 CRF is 0–51' }] });
    expect(await refusal({ source: { uri: '/etc/passwd' }, codec: 'h264' })).toMatchObject({ code: 'MEDIA_URI_FORBIDDEN', message: expect.stringMatching(/outside the media root/) });
    expect(await refusal({ source: { uri: path.join(stack.root, 'missing.mp4') }, codec: 'h264' })).toMatchObject({ code: 'MEDIA_NOT_FOUND' });
    expect(await refusal({ source: src, codec: 'h264', grid: { heights: [288] } })).toMatchObject({ code: 'BAD_REQUEST', message: expect.stringMatching(/288 is above the source's height 144/) });
    expect(await refusal({ source: src, codec: 'h264', perShot: true })).toMatchObject({ code: 'BAD_REQUEST', message: expect.stringMatching(/perShot .* not implemented yet/), details: [{ path: 'perShot' }] });
    expect(await accepted('cas')).toBe(before);
  });
});

describe('cancelling an analysis', () => {
  it('cancels its child encodes and measurements and removes its work files', async () => {
    const jobId = await stack.client.submit('vpipe.cas.analyze', { source: { uri: files.generated }, codec: 'h264', grid: { heights: [72, 144], crfs: [18, 28, 33, 43] } }, 'json');
    const kv = stack.node.ctx.topology.chunks;
    const children = new Map<string, string>();
    // Once the trials are queued, their VES jobs are recorded as the analysis's children.
    await expect
      .poll(
        async () => {
          for await (const k of await kv.keys(`${jobId}.child.>`)) children.set(k, (await kv.get(k))!.string());
          return [...children.keys()].filter((k) => k.includes('.child.ves_')).length;
        },
        { timeout: 120_000, interval: 50 },
      )
      .toBe(8);
    expect(await stack.client.request('vpipe.cas.cancel', { jobId })).toMatchObject({ state: 'cancelling' });
    const ev = await stack.client.waitForResult('cas', jobId, { timeoutMs: 60_000 });
    expect(ev).toMatchObject({ state: 'cancelled', error: { code: 'CANCELLED' } });
    const states = await Promise.all(
      [...children].map(async ([k, child]) => {
        const svc = k.includes('.child.ves_') ? 'ves' : 'vqs';
        const end = await stack.client.waitForResult(svc, child, { timeoutMs: 60_000 });
        return end.state;
      }),
    );
    expect(states).toContain('cancelled');
    expect(states.every((s) => s === 'cancelled' || s === 'succeeded')).toBe(true);
    // The clean-up follows the result event.
    await expect.poll(() => fs.existsSync(path.join(stack.root, WORK_AREA, jobId)), { timeout: 10_000 }).toBe(false);
    await expect
      .poll(async () => {
        const left: string[] = [];
        for await (const k of await kv.keys(`${jobId}.>`)) left.push(k);
        return left;
      })
      .toEqual([]);
  });
});
