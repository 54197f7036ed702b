/**
 * VVS end to end over a real nats-server and real ffmpeg: encodes in each
 * codec validated against expectations they meet and ones they miss, a
 * damaged file, and bad requests that must each get a clear error.
 */
import { decode, encode } from '@msgpack/msgpack';
import type { NatsConnection } from '@nats-io/transport-node';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { vvsService } from '../actors/vvs/service.js';
import type { VpipeClient } from '../runtime/jobs/client.js';
import type { ServiceDefinition } from '../runtime/jobs/service-definition.js';
import type { Discrepancy, ValidateResult } from '../schemas/vvs.js';
import * as media from './helpers/encoded-media.js';
import { startTestStack, type TestStack } from './helpers/stack.js';

let stack: TestStack;
let nc: NatsConnection;
let client: VpipeClient;
let root: string;
const files: Record<'h264' | 'hevc' | 'vp9' | 'av1' | 'corrupt', string> = { h264: '', hevc: '', vp9: '', av1: '', corrupt: '' };
const te = new TextEncoder();
const td = new TextDecoder();

beforeAll(async () => {
  stack = await startTestStack('vvs', { roles: ['api', 'workflow'], concurrency: 4, metricsPort: 0, services: [vvsService as unknown as ServiceDefinition] }, async (dir) => {
    [files.h264, files.hevc, files.vp9, files.av1] = await Promise.all([media.makeH264(dir), media.makeHevcMain10(dir), media.makeVp9(dir), media.makeAv1(dir)]);
    files.corrupt = await media.makeCorruptH264(dir);
    fs.mkdirSync(path.join(dir, 'seq'));
  });
  ({ client, root } = stack);
  nc = client.nc;
});

afterAll(async () => {
  await stack?.cleanup();
});

async function validate(file: string, expectations: object): Promise<ValidateResult> {
  const jobId = await client.submit('vpipe.vvs.validate', { video: { uri: `file://${file}` }, expectations }, 'json');
  const ev = await client.waitForResult('vvs', jobId, { timeoutMs: 20_000 });
  expect(ev.state, JSON.stringify(ev.error)).toBe('succeeded');
  return ev.result as ValidateResult;
}

const byField = (r: ValidateResult): Record<string, Discrepancy> => Object.fromEntries(r.discrepancies.map((d) => [d.field, d]));

describe('discovery', () => {
  it('lists the validate endpoint in $SRV.INFO.vpipe-vvs', async () => {
    const reply = await nc.request('$SRV.INFO.vpipe-vvs', new Uint8Array(), { timeout: 2_000 });
    const info = JSON.parse(td.decode(reply.data)) as { endpoints: { subject: string }[] };
    expect(info.endpoints.map((e) => e.subject)).toContain('vpipe.vvs.validate');
  });
});

describe('encodes that meet their expectations', () => {
  const common = { resolution: { width: 160, height: 120 }, frameCount: 50, durationSeconds: 2, decodesWithoutErrors: true };
  const cases: [keyof typeof files, object][] = [
    [
      'h264',
      {
        ...common,
        codec: 'h264', profile: 'high', level: '1.1', pixelFormat: 'yuv420p', maxGopFrames: 10, keyframesAtFrames: [0, 10, 20, 30, 40],
        averageBitrateKbps: { target: 200, tolerancePercent: 10 },
      },
    ],
    ['hevc', { ...common, codec: 'hevc', profile: 'main10', level: '1', pixelFormat: 'yuv420p10le', keyframesAtFrames: [0] }],
    // vp9 signals no level: a level expectation is skipped, not failed
    ['vp9', { ...common, codec: 'vp9', profile: '0', level: '4.1', pixelFormat: 'yuv420p', keyframesAtFrames: [0] }],
    ['av1', { ...common, codec: 'av1', profile: 'main', level: '2', pixelFormat: 'yuv420p', keyframesAtFrames: [0] }],
  ];

  it.each(cases)('%s: ok with no discrepancies', async (codec, expectations) => {
    const r = await validate(files[codec], expectations);
    expect(r.discrepancies).toEqual([]);
    expect(r.ok).toBe(true);
    expect(r.measured).toMatchObject({ codec, frameCount: 50, durationSeconds: 2, decodeErrors: 0, resolution: { width: 160, height: 120 } });
  });

  it('reports ffprobe profile names and recipe-spelled levels as measured', async () => {
    const [h264, hevc, vp9, av1] = await Promise.all(['h264', 'hevc', 'vp9', 'av1'].map((c) => validate(files[c as keyof typeof files], {})));
    expect([h264!.measured.profile, h264!.measured.level, h264!.measured.maxGopFrames, h264!.measured.keyframeCount]).toEqual(['High', '1.1', 10, 5]);
    expect([hevc!.measured.profile, hevc!.measured.level]).toEqual(['Main 10', '1']);
    expect([vp9!.measured.profile, vp9!.measured.level]).toEqual(['Profile 0', null]);
    expect([av1!.measured.profile, av1!.measured.level]).toEqual(['Main', '2']);
    expect(h264!.measured.averageBitrateKbps).toBeGreaterThan(180);
    expect(h264!.measured.decodeErrors).toBeNull(); // not asked for: no decode pass
  });
});

describe('encodes that miss their expectations', () => {
  it('reports each discrepancy with expected and actual', async () => {
    const r = await validate(files.h264, {
      codec: 'hevc',
      resolution: { width: 320, height: 240 },
      frameCount: 60,
      keyframesAtFrames: [0, 7, 10],
      averageBitrateKbps: { target: 5000 },
    });
    expect(r.ok).toBe(false);
    const d = byField(r);
    expect(Object.keys(d)).toEqual(['codec', 'resolution', 'frameCount', 'averageBitrateKbps', 'keyframesAtFrames']);
    expect(d.codec).toMatchObject({ expected: 'hevc', actual: 'h264' });
    expect(d.resolution).toMatchObject({ expected: { width: 320, height: 240 }, actual: { width: 160, height: 120 } });
    expect(d.frameCount).toMatchObject({ expected: 60, actual: 50, message: expect.stringMatching(/10 frame\(s\) missing/) });
    expect(d.keyframesAtFrames).toMatchObject({ expected: [7], actual: [{ frame: 7, previous: 0, next: 10 }] });
    expect(d.averageBitrateKbps).toMatchObject({ expected: { target: 5000, tolerancePercent: 20 }, message: expect.stringMatching(/below the 5000 kbps target/) });
    expect(d.averageBitrateKbps!.actual).toBeLessThan(250);
  });

  it('finds decode errors in a file with damaged bytes, which still probes fine', async () => {
    const r = await validate(files.corrupt, { codec: 'h264', frameCount: 50, decodesWithoutErrors: true });
    expect(r.ok).toBe(false);
    expect(r.discrepancies.map((x) => x.field)).toEqual(['decodesWithoutErrors']);
    const d = r.discrepancies[0]!;
    expect(d.expected).toBe(true);
    expect((d.actual as { decodeErrors: number }).decodeErrors).toBeGreaterThan(0);
    expect(r.measured.decodeErrors).toBeGreaterThan(0);
  });

  it('answers a file that is not media with one video discrepancy', async () => {
    const fake = path.join(root, 'not-video.mp4');
    fs.writeFileSync(fake, 'this is not a video');
    const r = await validate(fake, { codec: 'h264' });
    expect(r.ok).toBe(false);
    expect(r.discrepancies).toHaveLength(1);
    expect(r.discrepancies[0]).toMatchObject({ field: 'video', expected: 'a readable video stream' });
    // ffprobe's line names `file:/path`; the result names the caller's URI instead
    expect(r.discrepancies[0]!.message).toContain(`file://${fake}: Invalid data`);
    expect(r.discrepancies[0]!.message).not.toContain(`file:${fake}`);
  });
});

describe('bad requests', () => {
  const json = (o: unknown) => te.encode(JSON.stringify(o));
  const ok = () => ({ video: { uri: files.h264 }, expectations: {} });
  const cases: [string, () => Uint8Array, string, RegExp][] = [
    ['garbage bytes', () => new Uint8Array([0xc1, 0xff, 0x00, 0x13]), 'UNDECODABLE_PAYLOAD', /MessagePack/],
    ['broken JSON', () => te.encode('{"video": '), 'UNDECODABLE_PAYLOAD', /JSON/],
    ['no expectations', () => json({ video: { uri: files.h264 } }), 'SCHEMA_INVALID', /expectations/],
    ['an unknown expectation field', () => json({ ...ok(), expectations: { frameRate: 25 } }), 'SCHEMA_INVALID', /expectations.*frameRate/],
    ['a negative frameCount', () => json({ ...ok(), expectations: { frameCount: -1 } }), 'SCHEMA_INVALID', /expectations\.frameCount/],
    ['a fractional maxGopFrames', () => encode({ ...ok(), expectations: { maxGopFrames: 2.5 } }), 'SCHEMA_INVALID', /expectations\.maxGopFrames/],
    ['an unknown codec', () => json({ ...ok(), expectations: { codec: 'mpeg2' } }), 'SCHEMA_INVALID', /expectations\.codec/],
    ['a level that does not exist', () => json({ ...ok(), expectations: { level: '3.3' } }), 'SCHEMA_INVALID', /expectations\.level/],
    ['a negative keyframe', () => json({ ...ok(), expectations: { keyframesAtFrames: [0, -10] } }), 'SCHEMA_INVALID', /expectations\.keyframesAtFrames\.1/],
    ['a path outside the root', () => json({ ...ok(), video: { uri: 'file:///etc/passwd' } }), 'MEDIA_URI_FORBIDDEN', /outside the media root/],
    ['a ../ path', () => json({ ...ok(), video: { uri: `${root}/../etc/passwd` } }), 'MEDIA_URI_FORBIDDEN', /"\.\."/],
    ['a missing file', () => json({ ...ok(), video: { uri: `${root}/nope.mp4` } }), 'MEDIA_NOT_FOUND', /does not exist/],
    ['an image sequence', () => json({ ...ok(), video: { uri: `${root}/seq/frame%08d.png` } }), 'BAD_REQUEST', /video\.uri.*image-sequence/],
  ];

  it.each(cases)('refuses %s with a clear error', async (_what, body, code, message) => {
    const reply = await nc.request('vpipe.vvs.validate', body(), { timeout: 5_000 });
    expect(Number(reply.headers?.get('Nats-Service-Error-Code'))).toBeGreaterThanOrEqual(400);
    const parsed = (reply.headers?.get('Content-Type') === 'application/json' ? JSON.parse(td.decode(reply.data)) : decode(reply.data)) as {
      error: { code: string; message: string; details?: { path: string }[] };
    };
    expect(parsed.error.code).toBe(code);
    expect(`${parsed.error.message} ${JSON.stringify(parsed.error.details ?? [])}`).toMatch(message);
  });
});
