/**
 * VQS end to end over a real nats-server, real ffmpeg and real libvmaf (the
 * static ffmpeg deploy/fetch-vmaf-ffmpeg.sh installs): identical pictures,
 * distortions that must score lower on every metric, an upscaled encode, a
 * missing frame, segments measured in parallel against one pass, VMAF
 * against a direct libvmaf run, a corpus file lined up by its frame index,
 * and bad requests that must each get a clear error.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { visService } from '../actors/vis/service.js';
import { vqsService } from '../actors/vqs/service.js';
import type { ServiceDefinition } from '../runtime/jobs/service-definition.js';
import type { JobEvent } from '../schemas/api.js';
import type { MeasureResult } from '../schemas/vqs.js';
import { corpusFile } from './corpus/manifest.js';
import { ffmpeg } from './helpers/media.js';
import { startTestStack, type TestStack } from './helpers/stack.js';
import { directVmafMean, ensureVmafFfmpeg, media } from './helpers/vqs-media.js';

let stack: TestStack;
let root: string;
const files: Record<string, string> = {};

beforeAll(async () => {
  ensureVmafFfmpeg();
  stack = await startTestStack('vqs', { services: [visService, vqsService] as ServiceDefinition[], encoderActors: 2, concurrency: 4, metricsPort: 0 }, async (dir) => {
    const [reference, referenceCopy, noiseLight, noiseHeavy, blurLight, blurHeavy, crf23, crf40, dropped, source720, encode360] = await Promise.all([
      media.reference(dir),
      media.referenceCopy(dir),
      media.noise(dir, 'light'),
      media.noise(dir, 'heavy'),
      media.blur(dir, 'light'),
      media.blur(dir, 'heavy'),
      media.crf(dir, 23),
      media.crf(dir, 40),
      media.droppedFrame(dir),
      media.source720(dir),
      media.encode360(dir),
    ]);
    Object.assign(files, { reference, referenceCopy, noiseLight, noiseHeavy, blurLight, blurHeavy, crf23, crf40, dropped, source720, encode360 });
  });
  root = stack.root;
});

afterAll(async () => {
  await stack?.cleanup();
});

async function run(body: object): Promise<JobEvent> {
  const jobId = await stack.client.submit('vpipe.vqs.measure', body, 'json');
  return stack.client.waitForResult('vqs', jobId, { timeoutMs: 90_000 });
}

async function measure(distorted: string, reference = files.reference!, extra: object = {}): Promise<MeasureResult> {
  const ev = await run({ reference: { uri: `file://${reference}` }, distorted: { uri: `file://${distorted}` }, ...extra });
  expect(ev.state, JSON.stringify(ev.error)).toBe('succeeded');
  return ev.result as MeasureResult;
}

/** The scores a comparison of strictness looks at: every metric's pooled mean. */
const means = (r: MeasureResult) => ({ vmaf: r.metrics.vmaf!.mean, psnrY: r.metrics.psnr!.mean, psnrYuv: r.metrics.psnr!.yuv.mean, ssim: r.metrics.ssim!.mean });

describe('discovery', () => {
  it('lists the measure endpoint in $SRV.INFO.vpipe-vqs', async () => {
    const reply = await stack.client.nc.request('$SRV.INFO.vpipe-vqs', new Uint8Array(), { timeout: 2_000 });
    const info = JSON.parse(new TextDecoder().decode(reply.data)) as { endpoints: { subject: string }[] };
    expect(info.endpoints.map((e) => e.subject)).toContain('vpipe.vqs.measure');
  });
});

describe('scores', () => {
  it('gives identical pictures PSNR at its cap, SSIM 1 and VMAF ≥ 99, whatever the containers', async () => {
    const r = await measure(files.referenceCopy!);
    expect(r.metrics.psnr).toMatchObject({ metric: 'psnr', model: 'psnr_y', mean: 100, min: 100, capDb: 100, yuv: { model: 'psnr_yuv_611', mean: 100 } });
    expect(r.metrics.ssim).toMatchObject({ metric: 'ssim', model: 'ssim_y', mean: 1, min: 1 });
    expect(r.metrics.vmaf!.mean).toBeGreaterThanOrEqual(99);
    expect(r.metrics.vmaf).toMatchObject({ metric: 'vmaf', model: 'vmaf_v0.6.1', phoneModel: false, libvmaf: expect.stringMatching(/^\d+\.\d+\.\d+/), ffmpeg: expect.stringMatching(/^7\.0\.2/) });
    expect(r.metrics.vmaf!.version).toBe(r.metrics.vmaf!.libvmaf);
    expect(r.frames).toEqual({ reference: 50, distorted: 50, compared: 50, countsMatch: true, referenceCountedBy: 'decode', distortedCountedBy: 'decode' });
    expect(r.comparison).toMatchObject({ width: 640, height: 360, pixelFormat: 'yuv420p', scaler: 'bicubic', pairing: 'frame-number' });
    expect(r.notMeasured).toEqual([]);
    expect(r.perFrame!.vmaf).toHaveLength(50);
    expect(r.perFrame!.psnrY!.every((x) => x === 100)).toBe(true);
  });

  it('scores noise, blur and a higher CRF strictly lower on every metric', async () => {
    const [identical, noiseLight, noiseHeavy, blurLight, blurHeavy, crf23, crf40] = (
      await Promise.all([files.referenceCopy, files.noiseLight, files.noiseHeavy, files.blurLight, files.blurHeavy, files.crf23, files.crf40].map((f) => measure(f!)))
    ).map(means);
    const pairs: [string, ReturnType<typeof means>, ReturnType<typeof means>][] = [
      ['light noise vs identical', noiseLight!, identical!],
      ['heavy noise vs light noise', noiseHeavy!, noiseLight!],
      ['light blur vs identical', blurLight!, identical!],
      ['heavy blur vs light blur', blurHeavy!, blurLight!],
      ['CRF 23 vs identical', crf23!, identical!],
      ['CRF 40 vs CRF 23', crf40!, crf23!],
    ];
    for (const [what, worse, better] of pairs) {
      for (const k of Object.keys(better) as (keyof typeof better)[]) expect(worse[k], `${what}: ${k}`).toBeLessThan(better[k]);
    }
  });

  it('upscales a 640x360 encode of a 1280x720 source to the source size (bicubic) and scores it', async () => {
    const r = await measure(files.encode360!, files.source720!);
    expect(r.comparison).toMatchObject({ width: 1280, height: 720, reference: { width: 1280, height: 720 }, distorted: { width: 640, height: 360 } });
    expect(r.metrics.vmaf!.mean).toBeGreaterThan(20);
    expect(r.metrics.vmaf!.mean).toBeLessThan(99);
    expect(r.metrics.psnr!.mean).toBeGreaterThan(20);
    // Scored at the model's display height instead (1080p at the reference's 16:9): a different, documented choice.
    const atModel = await measure(files.encode360!, files.source720!, { compareAt: 'model', metrics: ['psnr'] });
    expect(atModel.comparison).toMatchObject({ width: 1920, height: 1080 });
    expect(atModel.metrics.vmaf).toBeUndefined();
  });

  it('agrees within 0.5 VMAF with a direct ffmpeg -lavfi libvmaf run', async () => {
    const same = await measure(files.crf40!);
    const scaled = await measure(files.encode360!, files.source720!, { metrics: ['vmaf'] });
    const direct = [directVmafMean(files.crf40!, files.reference!), directVmafMean(files.encode360!, files.source720!, { width: 1280, height: 720 })];
    const diffs = [same.metrics.vmaf!.mean - direct[0]!, scaled.metrics.vmaf!.mean - direct[1]!];
    console.info(`VQS vs direct libvmaf: same size ${same.metrics.vmaf!.mean} vs ${direct[0]} (Δ ${diffs[0]!.toFixed(4)}); 360p→720p ${scaled.metrics.vmaf!.mean} vs ${direct[1]} (Δ ${diffs[1]!.toFixed(4)})`);
    for (const d of diffs) expect(Math.abs(d)).toBeLessThan(0.5);
  });

  it('measures in two parallel segments exactly what one pass measures', async () => {
    const [one, two] = await Promise.all([measure(files.crf40!), measure(files.crf40!, files.reference!, { segmentFrames: 25 })]);
    expect([one.segments, two.segments]).toEqual([1, 2]);
    for (const m of ['vmaf', 'psnr', 'ssim'] as const) {
      for (const k of ['mean', 'harmonicMean', 'min', 'max', 'p1', 'p5'] as const) expect(Math.abs(two.metrics[m]![k] - one.metrics[m]![k]), `${m}.${k}`).toBeLessThan(0.01);
    }
    expect(Math.abs(two.metrics.psnr!.yuv.mean - one.metrics.psnr!.yuv.mean)).toBeLessThan(0.01);
    // Segment boundaries decode one frame of motion context each side, so even frame 25's VMAF is the same.
    two.perFrame!.vmaf!.forEach((v, i) => expect(Math.abs(v - one.perFrame!.vmaf![i]!), `frame ${i}`).toBeLessThan(0.01));
  });

  it('uses the phone model and the NEG model when asked, and names them', async () => {
    const [tv, phone, neg] = await Promise.all([
      measure(files.crf40!, files.reference!, { metrics: ['vmaf'] }),
      measure(files.crf40!, files.reference!, { metrics: ['vmaf'], vmaf: { phoneModel: true } }),
      measure(files.crf40!, files.reference!, { metrics: ['vmaf'], vmaf: { model: 'vmaf_v0.6.1neg' } }),
    ]);
    expect(phone.metrics.vmaf).toMatchObject({ model: 'vmaf_v0.6.1', phoneModel: true });
    expect(neg.metrics.vmaf).toMatchObject({ model: 'vmaf_v0.6.1neg', phoneModel: false });
    // A small screen hides more: the phone model scores the same encode higher.
    expect(phone.metrics.vmaf!.mean).toBeGreaterThan(tv.metrics.vmaf!.mean);
    expect(neg.metrics.vmaf!.mean).not.toBe(tv.metrics.vmaf!.mean);
  });

  it('writes every frame to a report file when asked', async () => {
    const report = path.join(root, 'crf40.vqs.json');
    const r = await measure(files.crf40!, files.reference!, { report: { uri: `file://${report}` } });
    expect(r.report).toEqual({ uri: `file://${report}` });
    const j = JSON.parse(fs.readFileSync(report, 'utf8')) as { frames: { n: number; vmaf: number; psnrY: number; psnrYuv: number; ssim: number }[] };
    expect(j.frames).toHaveLength(50);
    expect(j.frames[7]).toEqual({ n: 7, vmaf: r.perFrame!.vmaf![7], psnrY: r.perFrame!.psnrY![7], psnrYuv: r.perFrame!.psnrYuv![7], ssim: r.perFrame!.ssim![7] });
  });
});

describe('frame counts', () => {
  it('fails a distorted video with a missing frame as a count mismatch naming both counts', async () => {
    const ev = await run({ reference: { uri: files.reference }, distorted: { uri: files.dropped } });
    expect(ev.state).toBe('failed');
    expect(ev.error).toMatchObject({ code: 'CONTENT_MISMATCH', message: expect.stringMatching(/reference has 50 frames .*distorted video 49/) });
    expect(ev.error!.details).toEqual([
      { path: 'reference', message: '50 frames' },
      { path: 'distorted', message: '49 frames' },
    ]);
  });

  it('scores the common frames when a mismatch is allowed, and says so', async () => {
    const r = await measure(files.dropped!, files.reference!, { allowFrameCountMismatch: true, metrics: ['psnr'] });
    expect(r.frames).toMatchObject({ reference: 50, distorted: 49, compared: 49, countsMatch: false });
    // Paired by number, every frame after the gap meets its neighbour's picture: worse than before it.
    const psnr = r.perFrame!.psnrY!;
    const mean = (a: number[]) => a.reduce((s, x) => s + x, 0) / a.length;
    expect(mean(psnr.slice(21))).toBeLessThan(mean(psnr.slice(0, 20)) - 3);
  });

  it('lines a corpus file up by its frame index (VIS) and scores an x264 encode of it', async () => {
    const src = path.join(root, 'Effet_force_magnetique.ogv');
    fs.copyFileSync(corpusFile('Effet_force_magnetique.ogv'), src);
    const enc = path.join(root, 'effet-crf30.mp4');
    await ffmpeg(['-i', src, '-an', '-c:v', 'libx264', '-crf', '30', '-preset', 'veryfast', '-pix_fmt', 'yuv420p', '-f', 'mp4', enc]);
    const inspected = await stack.client.waitForResult('vis', await stack.client.submit('vpipe.vis.inspect', { source: { uri: src } }, 'json'), { timeoutMs: 60_000 });
    expect(inspected.state).toBe('succeeded');
    const r = await measure(enc, src);
    expect(r.frames).toMatchObject({ reference: 34, distorted: 34, compared: 34, referenceCountedBy: 'frame-index', distortedCountedBy: 'decode' });
    expect(r.comparison).toMatchObject({ width: 400, height: 304 });
    expect(r.metrics.vmaf!.mean).toBeGreaterThan(30);
    expect(r.metrics.vmaf!.mean).toBeLessThan(100);
  });
});

describe('metrics', () => {
  it('counts segments, frames and pooled scores, and says VMAF is available', async () => {
    const text = await (await fetch(`http://127.0.0.1:${stack.node.metricsPort}/metrics`)).text();
    expect(text).toMatch(/^vpipe_vqs_segments_total\{outcome="ok"\} [1-9]/m);
    expect(text).toMatch(/^vpipe_vqs_frames_measured_total\{vmaf="yes"\} [1-9]/m);
    expect(text).toMatch(/^vpipe_vqs_pooled_score_count\{metric="vmaf"\} [1-9]/m);
    expect(text).toMatch(/^vpipe_vqs_frame_count_mismatches_total\{action="failed"\} 1$/m);
    expect(text).toMatch(/^vpipe_vqs_vmaf_available 1$/m);
  });
});

describe('bad requests', () => {
  const td = new TextDecoder();
  const ok = () => ({ reference: { uri: files.reference }, distorted: { uri: files.crf23 } });
  const cases: [string, () => object, string, RegExp][] = [
    ['no distorted', () => ({ reference: { uri: files.reference } }), 'SCHEMA_INVALID', /distorted/],
    ['an unknown metric', () => ({ ...ok(), metrics: ['vmaf', 'butteraugli'] }), 'SCHEMA_INVALID', /metrics\.1/],
    ['a metric twice', () => ({ ...ok(), metrics: ['psnr', 'psnr'] }), 'SCHEMA_INVALID', /each metric once/],
    ['an unknown model', () => ({ ...ok(), vmaf: { model: 'vmaf_b_v0.6.3' } }), 'SCHEMA_INVALID', /vmaf\.model/],
    ['the phone model on the 4K model', () => ({ ...ok(), vmaf: { model: 'vmaf_4k_v0.6.1', phoneModel: true } }), 'SCHEMA_INVALID', /vmaf\.phoneModel/],
    ['segments of 5 frames', () => ({ ...ok(), segmentFrames: 5 }), 'SCHEMA_INVALID', /segmentFrames/],
    ['a path outside the root', () => ({ ...ok(), distorted: { uri: 'file:///etc/passwd' } }), 'MEDIA_URI_FORBIDDEN', /outside the media root/],
    ['a missing reference', () => ({ ...ok(), reference: { uri: `${root}/nope.mkv` } }), 'MEDIA_NOT_FOUND', /does not exist/],
    ['a report over an input', () => ({ ...ok(), report: { uri: files.crf23 } }), 'SCHEMA_INVALID', /report.*overwrite/],
  ];

  it.each(cases)('refuses %s with a clear error', async (_what, body, code, message) => {
    const reply = await stack.client.nc.request('vpipe.vqs.measure', new TextEncoder().encode(JSON.stringify(body())), { timeout: 5_000 });
    expect(Number(reply.headers?.get('Nats-Service-Error-Code'))).toBeGreaterThanOrEqual(400);
    const parsed = JSON.parse(td.decode(reply.data)) as { error: { code: string; message: string; details?: unknown[] } };
    expect(parsed.error.code).toBe(code);
    expect(`${parsed.error.message} ${JSON.stringify(parsed.error.details ?? [])}`).toMatch(message);
  });

  it('fails a job whose distorted file is not video with a clear error', async () => {
    const fake = path.join(root, 'not-video.mp4');
    fs.writeFileSync(fake, 'this is not a video');
    const ev = await run({ reference: { uri: files.reference }, distorted: { uri: fake } });
    expect(ev.state).toBe('failed');
    expect(ev.error).toMatchObject({ code: 'BAD_REQUEST', message: expect.stringMatching(/^distorted cannot be read as media/) });
  });
});
