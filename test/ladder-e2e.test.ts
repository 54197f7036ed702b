/**
 * The per-title chain end to end, every service real, over a real
 * nats-server: LGS asks CAS, CAS cuts a sample and runs trial encodes
 * through VES that VQS measures with real libvmaf, LGS walks the hull. The
 * top rung's recipe is then encoded by VES and measured by VQS, and lands
 * where LGS predicted; a second ladder for the same bytes at another path is
 * answered from the complexity store with no new encode.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { metrics } from '../runtime/core/mod.js';
import type { LadderResult } from '../schemas/lgs.js';
import type { EncodeResult } from '../schemas/ves.js';
import type { MeasureResult } from '../schemas/vqs.js';
import { ffmpeg } from './helpers/media.js';
import { startTestStack, type TestStack } from './helpers/stack.js';
import { ensureVmafFfmpeg } from './helpers/vqs-media.js';
import { verifyOutput } from './helpers/verify-output.js';
import { expectFrameExact } from './helpers/ves-proof.js';

let stack: TestStack;
let src: string;
let copy: string;

beforeAll(async () => {
  ensureVmafFfmpeg();
  stack = await startTestStack('ladder', { encoderActors: 2, concurrency: 8, metricsPort: 0 }, async (dir) => {
    // 2 s of 640x360 texture and motion: analysed whole (234p and 360p × CAS's five CRFs).
    src = path.join(dir, 'title.mp4');
    await ffmpeg(['-f', 'lavfi', '-i', 'testsrc2=size=640x360:rate=25:duration=2', '-c:v', 'libx264', '-preset', 'veryfast', '-qp', '0', '-pix_fmt', 'yuv420p', '-f', 'mp4', src]);
    fs.mkdirSync(path.join(dir, 'other'));
    copy = path.join(dir, 'other', 'same.mp4');
    fs.copyFileSync(src, copy);
  });
});

afterAll(async () => {
  await stack?.cleanup();
});

const accepted = async (service: string) => (await metrics.jobsAccepted.get()).values.find((v) => v.labels.service === service)?.value ?? 0;

async function run<T>(svc: string, subject: string, body: object): Promise<T> {
  const jobId = await stack.client.submit(subject, body);
  const ev = await stack.client.waitForResult(svc, jobId, { timeoutMs: 300_000 });
  expect(ev.state, JSON.stringify(ev.error)).toBe('succeeded');
  return ev.result as T;
}

describe('per-title ladder, every service real', () => {
  let first: LadderResult;

  it('builds a ladder from real trial encodes and VMAF, and its top rung encodes to the predicted quality', async () => {
    first = await run<LadderResult>('lgs', 'vpipe.lgs.ladder', { source: { uri: src }, codec: 'h264', constraints: { rungs: 4, minKbps: 50 } });
    expect(first.metric).toBe('vmaf');
    expect(first.analysis.cached).toBe(false);
    expect(first.rungs.length).toBeGreaterThanOrEqual(2);
    for (const [a, b] of first.rungs.slice(1).map((r, i) => [first.rungs[i]!, r] as const)) {
      expect(b.kbps).toBeGreaterThan(a.kbps);
      expect(b.predicted.vmaf!).toBeGreaterThan(a.predicted.vmaf!);
      expect(b.height).toBeGreaterThanOrEqual(a.height);
    }
    for (const r of first.rungs) {
      expect(r.height).toBeLessThanOrEqual(360);
      expect(r.predicted.vmaf!).toBeLessThanOrEqual(95 + 1e-6);
    }
    // The hull names a resolution for every point and rises with bitrate.
    expect(first.hull.length).toBeGreaterThan(2);
    for (const [a, b] of first.hull.slice(1).map((h, i) => [first.hull[i]!, h] as const)) expect(b.vmaf!).toBeGreaterThanOrEqual(a.vmaf! - 1e-9);

    // The top rung as LGS wrote it (capped CRF, IDR every 2 s), encoded by VES and measured by VQS.
    const top = first.rungs.at(-1)!;
    expect(top.recipe.rateControl).toMatchObject({ mode: 'crf', maxrateKbps: top.vbv.maxrateKbps });
    const out = path.join(stack.root, 'top.mp4');
    const enc = await run<EncodeResult>('ves', 'vpipe.ves.encode', { source: { uri: src }, output: { uri: out }, recipe: top.recipe });
    // Proven against the source by the test's own ffmpeg pass: all 50 frames, at their source times, each ≥ 20 dB.
    expectFrameExact('top rung', 50, await verifyOutput(src, out));
    const m = await run<MeasureResult>('vqs', 'vpipe.vqs.measure', { reference: { uri: src }, distorted: { uri: out }, metrics: ['vmaf'] });
    expect(m.metrics.vmaf!.model).toBe('vmaf_v0.6.1');
    console.log(`LADDER ${first.rungs.map((r) => `${r.height}p@${Math.round(r.kbps)}:${r.predicted.vmaf!.toFixed(1)}`).join(' ')}; top rung measured ${Math.round(enc.output.bitrateKbps)} kb/s VMAF ${m.metrics.vmaf!.mean.toFixed(2)} (predicted ${Math.round(top.kbps)} kb/s ${top.predicted.vmaf!.toFixed(2)})`);
    // Same content, preset and CRF as a trial: the prediction holds to a few VMAF points and about a fifth of the bitrate.
    expect(Math.abs(m.metrics.vmaf!.mean - top.predicted.vmaf!)).toBeLessThan(4);
    expect(enc.output.bitrateKbps / top.kbps).toBeGreaterThan(0.8);
    expect(enc.output.bitrateKbps / top.kbps).toBeLessThan(1.25);
  });

  it('a second ladder of the same bytes at another path comes from the complexity store: no new encode', async () => {
    const ves = await accepted('ves');
    const vqs = await accepted('vqs');
    const again = await run<LadderResult>('lgs', 'vpipe.lgs.ladder', { source: { uri: copy }, codec: 'h264', constraints: { rungs: 4, minKbps: 50 } });
    expect(again.analysis.cached).toBe(true);
    expect(again.analysis.contentHash).toBe(first.analysis.contentHash);
    expect(again.rungs).toEqual(first.rungs);
    expect(await accepted('ves')).toBe(ves);
    expect(await accepted('vqs')).toBe(vqs);
  });
});
