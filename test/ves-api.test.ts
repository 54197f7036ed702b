/**
 * VES end to end on a real nats-server with real ffmpeg: chunked parallel
 * encodes in all four codecs validated by VVS over NATS, VFR and 10-bit
 * sources, chunked vs unchunked quality, and recipes that try to inject options.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ServiceRequestError, VpipeClient } from '../runtime/client.js';
import { startNode, type VpipeNode } from '../runtime/node.js';
import { topologyFromEnv } from '../runtime/topology.js';
import type { EncodeResult } from '../schemas/ves.js';
import type { ValidateResult } from '../schemas/vvs.js';
import * as media from './helpers/media.js';
import { frameTimes, psnr, videoStream } from './helpers/measure.js';
import { startTestServer, tempDir, type TestServer } from './helpers/nats.js';

let server: TestServer;
let node: VpipeNode;
let client: VpipeClient;
let root: string;
let cfr: string;

beforeAll(async () => {
  server = await startTestServer();
  root = tempDir('ves-media');
  cfr = await media.makeCfr(root);
  node = await startNode({
    natsUrl: server.url,
    mediaRoot: root,
    dataDir: tempDir('ves-data'),
    roles: ['api', 'workflow', 'encoder'],
    concurrency: 2,
    encoderActors: 2,
    topology: { ...topologyFromEnv({}), ackWaitMs: 5_000 },
  });
  client = await VpipeClient.connect(server.url);
});

afterAll(async () => {
  await client?.close();
  await node?.stop(1_000);
  await server?.cleanup();
  fs.rmSync(root, { recursive: true, force: true });
});

async function encode(source: string, recipe: object, out: string, extra: object = {}): Promise<EncodeResult> {
  const jobId = await client.submit('vpipe.ves.encode', { source: { uri: `file://${source}` }, recipe, output: { uri: `file://${path.join(root, out)}` }, ...extra });
  const ev = await client.waitForResult('ves', jobId, { timeoutMs: 120_000 });
  expect(ev.state, JSON.stringify(ev.error)).toBe('succeeded');
  return ev.result as EncodeResult;
}

const chunked = { targetSeconds: 0.5, minSeconds: 0.2 };

describe('chunked encoding in every codec', () => {
  it.each([
    ['h264', { preset: 'veryfast', rateControl: { mode: 'crf', value: 23 } }, 'h264'],
    ['hevc', { preset: 'ultrafast', rateControl: { mode: 'crf', value: 28 } }, 'hevc'],
    ['vp9', { speed: 8, rateControl: { mode: 'crf', value: 35 } }, 'vp9'],
    ['av1', { speed: 12, rateControl: { mode: 'crf', value: 40 } }, 'av1'],
  ])('encodes %s in 4 chunks with the source frame count and a clean validation', async (codec, rc, ffName) => {
    const r = await encode(cfr, { codec, ...rc, chunking: chunked }, `out-${codec}.mkv`);
    expect(r.chunks).toBe(4);
    expect(r.frames).toBe(50);
    const v = r.validation as ValidateResult;
    expect(v.ok, JSON.stringify(v.discrepancies)).toBe(true);
    expect(v.measured.frameCount).toBe(50);
    expect((await videoStream(path.join(root, `out-${codec}.mkv`))).codec_name).toBe(ffName);
    // Chunk files are cleaned up once the output is written.
    expect(fs.readdirSync(root).filter((f) => f.startsWith('.vpipe-'))).toEqual([]);
  });
});

describe('awkward sources', () => {
  it('keeps a VFR source VFR: same frames, same timestamps', async () => {
    const vfr = await media.makeVfr(root, 'mp4');
    const r = await encode(vfr, { codec: 'h264', preset: 'veryfast', rateControl: { mode: 'crf', value: 23 }, chunking: chunked }, 'vfr-out.mp4');
    expect(r.chunks).toBeGreaterThan(1);
    const [a, b] = await Promise.all([frameTimes(vfr), frameTimes(path.join(root, 'vfr-out.mp4'))]);
    expect(b.length).toBe(a.length);
    for (let i = 0; i < a.length; i++) expect(Math.abs(b[i]! - a[i]!)).toBeLessThan(0.002);
  });

  it('encodes a 10-bit source to 10-bit HEVC main10', async () => {
    const src = await media.make10bit(root);
    const r = await encode(src, { codec: 'hevc', profile: 'main10', pixelFormat: 'yuv420p10le', preset: 'ultrafast', rateControl: { mode: 'crf', value: 28 }, chunking: chunked }, 'ten.mp4');
    expect((r.validation as ValidateResult).ok).toBe(true);
    expect((await videoStream(path.join(root, 'ten.mp4'))).pix_fmt).toBe('yuv420p10le');
  });

  it('scales to the recipe resolution', async () => {
    const r = await encode(cfr, { codec: 'h264', resolution: { width: 160, height: 120 }, scaler: 'lanczos', rateControl: { mode: 'crf', value: 23 }, chunking: chunked }, 'small.mp4');
    expect((r.validation as ValidateResult).measured.resolution).toEqual({ width: 160, height: 120 });
  });
});

describe('quality', () => {
  it('chunked and unchunked encodes of the same recipe differ by less than 0.3 dB PSNR', async () => {
    const recipe = { codec: 'h264', preset: 'medium', rateControl: { mode: 'crf', value: 23 } };
    await encode(cfr, { ...recipe, chunking: chunked }, 'q-chunked.mkv');
    await encode(cfr, { ...recipe, chunking: { enabled: false } }, 'q-whole.mkv');
    const a = await psnr(path.join(root, 'q-chunked.mkv'), cfr);
    const b = await psnr(path.join(root, 'q-whole.mkv'), cfr);
    expect(Math.abs(a - b)).toBeLessThan(0.3);
  });
});

describe('bad recipes', () => {
  const base = { source: { uri: '' }, output: { uri: '' } };
  it.each([
    ['a preset that smuggles an option', { codec: 'h264', preset: '-f lavfi', rateControl: { mode: 'crf', value: 23 } }, /recipe\.preset/],
    ['an unknown codec', { codec: 'libx264 -vf', rateControl: { mode: 'crf', value: 23 } }, /recipe\.codec/],
    ['a profile of another codec', { codec: 'h264', profile: 'main10', rateControl: { mode: 'crf', value: 23 } }, /recipe\.profile/],
    ['a CRF out of range', { codec: 'h264', rateControl: { mode: 'crf', value: 60 } }, /recipe\.rateControl\.value/],
    ['a string where a number goes', { codec: 'h264', rateControl: { mode: 'crf', value: '23 -x264opts' } }, /recipe\.rateControl\.value/],
    ['speed for x264', { codec: 'h264', speed: 3, rateControl: { mode: 'crf', value: 23 } }, /recipe\.speed/],
    ['an odd 4:2:0 size', { codec: 'h264', resolution: { width: 321, height: 240 }, rateControl: { mode: 'crf', value: 23 } }, /recipe\.resolution/],
    ['extra encoder params', { codec: 'hevc', rateControl: { mode: 'crf', value: 23 }, x265Params: 'pools=1' }, /x265Params/],
  ])('refuses %s naming the field', async (_what, recipe, field) => {
    const err = await client
      .request('vpipe.ves.encode', { ...base, source: { uri: cfr }, output: { uri: path.join(root, 'x.mp4') }, recipe }, { encoding: 'json' })
      .then(() => null, (e: unknown) => e);
    expect(err).toBeInstanceOf(ServiceRequestError);
    expect((err as ServiceRequestError).body.code).toBe('SCHEMA_INVALID');
    expect(`${(err as ServiceRequestError).body.message} ${JSON.stringify((err as ServiceRequestError).body.details)}`).toMatch(field);
  });

  it('refuses an output outside the media root and one that would overwrite the source', async () => {
    const recipe = { codec: 'h264', rateControl: { mode: 'crf', value: 23 } };
    const outside = await client.request('vpipe.ves.encode', { source: { uri: cfr }, output: { uri: '/tmp/evil.mp4' }, recipe }).catch((e: ServiceRequestError) => e.body.code);
    expect(outside).toBe('MEDIA_URI_FORBIDDEN');
    const same = await client.request('vpipe.ves.encode', { source: { uri: cfr }, output: { uri: cfr }, recipe }).catch((e: ServiceRequestError) => e.body.code);
    expect(same).toBe('SCHEMA_INVALID');
  });
});
