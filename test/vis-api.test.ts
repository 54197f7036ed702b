/**
 * VIS end to end over a real nats-server and real ffmpeg: discovery by the
 * micro-service protocol, JSON and MessagePack requests, result events for
 * awkward media, and bad requests that must each get a clear error while the
 * service keeps serving.
 */
import { decode, encode } from '@msgpack/msgpack';
import { headers, type Msg, type NatsConnection } from '@nats-io/transport-node';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { VpipeClient } from '../runtime/jobs/client.js';
import type { JobEvent } from '../schemas/api.js';
import type { InspectResult } from '../schemas/vis.js';
import * as media from './helpers/media.js';
import { tempDir } from './helpers/nats.js';
import { startTestStack, type TestStack } from './helpers/stack.js';

let stack: TestStack;
let nc: NatsConnection;
let client: VpipeClient;
let root: string;
let outside: string;
const te = new TextEncoder();
const td = new TextDecoder();

beforeAll(async () => {
  outside = tempDir('outside');
  fs.writeFileSync(path.join(outside, 'secret.mp4'), 'not for you');
  stack = await startTestStack('vis', { roles: ['api', 'workflow'], concurrency: 2, metricsPort: 0 }, async (dir) => {
    fs.symlinkSync(path.join(outside, 'secret.mp4'), path.join(dir, 'escape.mp4'));
    await media.makeCfr(dir);
  });
  ({ client, root } = stack);
  nc = client.nc;
});

afterAll(async () => {
  await stack?.cleanup();
  if (outside) fs.rmSync(outside, { recursive: true, force: true });
});

async function collect(subject: string, waitMs = 750): Promise<Msg[]> {
  const out: Msg[] = [];
  for await (const m of await nc.requestMany(subject, new Uint8Array(), { maxWait: waitMs })) out.push(m);
  return out;
}

async function inspectJson(file: string, extra: object = {}): Promise<InspectResult> {
  const reply = await nc.request('vpipe.vis.inspect', te.encode(JSON.stringify({ source: { uri: `file://${file}` }, ...extra })), { timeout: 10_000 });
  const accepted = JSON.parse(td.decode(reply.data)) as { jobId: string; state: string };
  expect(accepted.state).toBe('accepted');
  const ev = await client.waitForResult('vis', accepted.jobId, { timeoutMs: 60_000 });
  expect(ev.state, JSON.stringify(ev.error)).toBe('succeeded');
  return ev.result as InspectResult;
}

const codes = (r: InspectResult) => r.issues.map((i) => i.code);

describe('discovery (nats micro protocol)', () => {
  it('answers $SRV.PING with vpipe-vis', async () => {
    const names = (await collect('$SRV.PING')).map((m) => (JSON.parse(td.decode(m.data)) as { name: string }).name);
    expect(names).toContain('vpipe-vis');
  });

  it('lists the inspect, status and cancel endpoints in $SRV.INFO.vpipe-vis', async () => {
    const [info] = await collect('$SRV.INFO.vpipe-vis');
    const body = JSON.parse(td.decode(info!.data)) as { name: string; endpoints: { name: string; subject: string; queue_group: string }[] };
    expect(body.name).toBe('vpipe-vis');
    expect(body.endpoints.map((e) => e.subject).sort()).toEqual(['vpipe.vis.cancel', 'vpipe.vis.inspect', 'vpipe.vis.status']);
    expect(body.endpoints.every((e) => e.queue_group === 'vpipe')).toBe(true);
  });

  it('reports request counts in $SRV.STATS.vpipe-vis', async () => {
    const [stats] = await collect('$SRV.STATS.vpipe-vis');
    const body = JSON.parse(td.decode(stats!.data)) as { endpoints: { name: string; num_requests: number }[] };
    expect(body.endpoints.find((e) => e.name === 'inspect')).toBeDefined();
  });
});

describe('inspection jobs', () => {
  it('accepts a JSON request, answers in JSON, and publishes the result event with frame rate, count and size', async () => {
    const r = await inspectJson(path.join(root, 'cfr.mp4'));
    const v = r.video[0]!;
    expect(v.resolution).toEqual({ width: 320, height: 240 });
    expect(v.frameRate).toEqual({ num: 25, den: 1 });
    expect(v.frameCount).toBe(50);
    expect(v.frameRateMode).toBe('cfr');
    expect(r.audio).toHaveLength(1);
    expect(r.verdict).not.toBe('errors');
  });

  it('answers a MessagePack request in MessagePack and serves status', async () => {
    const reply = await nc.request('vpipe.vis.inspect', encode({ source: { uri: path.join(root, 'cfr.mp4') }, priority: 'high' }), { timeout: 10_000 });
    expect(reply.headers?.get('Content-Type')).toBe('application/msgpack');
    const { jobId } = decode(reply.data) as { jobId: string };
    const ev: JobEvent = await client.waitForResult('vis', jobId);
    expect(ev.state).toBe('succeeded');
    const status = await client.status('vis', jobId);
    expect(status).toMatchObject({ jobId, state: 'succeeded', service: 'vis' });
    expect((status.result as InspectResult).video[0]!.frameCount).toBe(50);
  });

  it('answers a retried submission with the same Idempotency-Key with the same job, and runs it once', async () => {
    const body = { source: { uri: path.join(root, 'cfr.mp4') } };
    const a = await client.request<{ jobId: string }>('vpipe.vis.inspect', body, { idempotencyKey: 'retry-me-1' });
    const b = await client.request<{ jobId: string }>('vpipe.vis.inspect', body, { idempotencyKey: 'retry-me-1' });
    const c = await client.request<{ jobId: string }>('vpipe.vis.inspect', body, { idempotencyKey: 'another-key' });
    expect(b.jobId).toBe(a.jobId);
    expect(c.jobId).not.toBe(a.jobId);
    expect((await client.waitForResult('vis', a.jobId)).state).toBe('succeeded');
    expect((await client.status('vis', a.jobId)).attempts).toBe(1);
  });

  it('flags variable frame rate', async () => {
    const r = await inspectJson(await media.makeVfr(root));
    expect(r.video[0]!.frameRateMode).toBe('vfr');
    expect(codes(r)).toContain('VARIABLE_FRAME_RATE');
  });

  it('detects interlaced content from the pictures', async () => {
    const r = await inspectJson(await media.makeInterlaced(root));
    expect(r.video[0]!.scanType).toBe('interlaced_tff');
    expect(codes(r)).toContain('INTERLACED');
  });

  it('reports 10-bit depth', async () => {
    const r = await inspectJson(await media.make10bit(root));
    expect(r.video[0]!.bitDepth).toBe(10);
  });

  it('flags odd dimensions with 4:2:0 chroma', async () => {
    const r = await inspectJson(await media.makeOddSize(root));
    expect(r.video[0]!.resolution).toEqual({ width: 321, height: 241 });
    expect(codes(r)).toEqual(expect.arrayContaining(['ODD_DIMENSIONS', 'CHROMA_SUBSAMPLING_MISMATCH']));
  });

  it('inspects an audio-only file as a result with a NO_VIDEO_STREAM error', async () => {
    const r = await inspectJson(await media.makeAudioOnly(root));
    expect(r.video).toHaveLength(0);
    expect(codes(r)).toContain('NO_VIDEO_STREAM');
    expect(r.verdict).toBe('errors');
  });

  it('inspects truncated and corrupt files as results with error flags', async () => {
    const truncated = await media.makeTruncated(root);
    const t = await inspectJson(typeof truncated === 'string' ? truncated : truncated.ts);
    expect(t.verdict).toBe('errors');
    expect(codes(t).some((c) => c === 'TRUNCATED' || c === 'DECODE_ERRORS')).toBe(true);
    const g = await inspectJson(await media.makeGarbage(root));
    expect(codes(g)).toContain('UNREADABLE_CONTAINER');
  });

  it('cancels a queued or running job and publishes a cancelled event', async () => {
    const long = await media.makeLong(root, 20);
    const jobId = await client.submit('vpipe.vis.inspect', { source: { uri: long }, priority: 'low' });
    const r = await client.request<{ state: string }>('vpipe.vis.cancel', { jobId });
    expect(['cancelled', 'cancelling']).toContain(r.state);
    const ev = await client.waitForResult('vis', jobId, { timeoutMs: 30_000 });
    expect(ev.state).toBe('cancelled');
    expect(ev.error?.code).toBe('CANCELLED');
  });
});

describe('metrics', () => {
  it('serves job counters, durations, rejections and queue depth on /metrics', async () => {
    const body = await (await fetch(`http://127.0.0.1:${stack.node.metricsPort}/metrics`)).text();
    expect(body).toMatch(/^vpipe_jobs_finished_total\{service="vis",state="succeeded"\} [1-9]\d*$/m);
    expect(body).toMatch(/^vpipe_job_duration_seconds_bucket\{le="5",service="vis",state="succeeded"\} [1-9]/m);
    expect(body).toMatch(/^vpipe_job_step_duration_seconds_count\{service="vis",step="scanning"\} [1-9]/m);
    expect(body).toMatch(/^vpipe_work_queue_depth\{consumer="work_vis_high"\} \d+$/m);
    expect(body).toMatch(/^vpipe_tool_runs_total\{tool="ffprobe",outcome="ok"\} [1-9]/m);
    expect(body).toMatch(/^process_cpu_seconds_total /m);
    expect(body).not.toMatch(/jobId/);
  });
});

describe('bad requests', () => {
  const json = (o: unknown) => te.encode(JSON.stringify(o));
  const big = 'a'.repeat(5000);
  const cases: [string, () => Uint8Array, string, RegExp][] = [
    ['garbage bytes', () => new Uint8Array([0xc1, 0xff, 0x00, 0x13]), 'UNDECODABLE_PAYLOAD', /MessagePack/],
    ['truncated MessagePack', () => encode({ source: { uri: '/x' } }).slice(0, 6), 'UNDECODABLE_PAYLOAD', /MessagePack/],
    ['broken JSON', () => te.encode('{"source": {"uri": '), 'UNDECODABLE_PAYLOAD', /JSON/],
    ['an empty body', () => new Uint8Array(), 'UNDECODABLE_PAYLOAD', /empty/],
    ['a MessagePack number', () => encode(42), 'SCHEMA_INVALID', /\(root\)/],
    ['an empty object', () => json({}), 'SCHEMA_INVALID', /source/],
    ['source of the wrong type', () => encode({ source: 'x.mp4' }), 'SCHEMA_INVALID', /source/],
    ['uri of the wrong type', () => json({ source: { uri: 7 } }), 'SCHEMA_INVALID', /source\.uri/],
    ['an empty uri', () => json({ source: { uri: '' } }), 'SCHEMA_INVALID', /source\.uri/],
    ['a huge uri', () => json({ source: { uri: `/${big}` } }), 'SCHEMA_INVALID', /source\.uri/],
    ['an unknown field', () => json({ source: { uri: '/x' }, ffmpegArgs: ['-f', 'lavfi'] }), 'SCHEMA_INVALID', /ffmpegArgs/],
    ['a bad priority', () => json({ source: { uri: '/x' }, priority: 'urgent' }), 'SCHEMA_INVALID', /priority/],
    ['decodeCheck of the wrong type', () => json({ source: { uri: '/x' }, decodeCheck: 'yes' }), 'SCHEMA_INVALID', /decodeCheck/],
    ['a zero frame-rate denominator', () => json({ source: { uri: '/x' }, imageSequence: { frameRate: { num: 25, den: 0 } } }), 'SCHEMA_INVALID', /imageSequence\.frameRate\.den/],
    ['a __proto__ key', () => te.encode('{"source":{"uri":"/x"},"__proto__":{"admin":true}}'), 'SCHEMA_INVALID', /__proto__/],
    ['a body over 64 KiB', () => json({ source: { uri: '/x' }, correlationId: 'x'.repeat(70_000) }), 'PAYLOAD_TOO_LARGE', /limit/],
    ['a ../ path', () => json({ source: { uri: `file://${root}/../${path.basename(outside)}/secret.mp4` } }), 'MEDIA_URI_FORBIDDEN', /"\.\."/],
    ['a symlink out of the root', () => json({ source: { uri: `file://${root}/escape.mp4` } }), 'MEDIA_URI_FORBIDDEN', /symbolic link/],
    ['an option as uri', () => json({ source: { uri: '-i /etc/passwd' } }), 'MEDIA_URI_FORBIDDEN', /"-"/],
    ['an http URL', () => json({ source: { uri: 'http://example.com/a.mp4' } }), 'MEDIA_URI_FORBIDDEN', /"http:"/],
    ['a concat: protocol', () => json({ source: { uri: `concat:${root}/cfr.mp4|${root}/cfr.mp4` } }), 'MEDIA_URI_FORBIDDEN', /"concat:"/],
    ['a file outside the root', () => json({ source: { uri: 'file:///etc/passwd' } }), 'MEDIA_URI_FORBIDDEN', /outside the media root/],
    ['a relative path', () => json({ source: { uri: 'cfr.mp4' } }), 'MEDIA_URI_FORBIDDEN', /relative/],
    ['a missing file', () => json({ source: { uri: `${root}/nope.mp4` } }), 'MEDIA_NOT_FOUND', /does not exist/],
    ['options smuggled into a file name', () => json({ source: { uri: `${root}/cfr.mp4 -f lavfi -i testsrc` } }), 'MEDIA_NOT_FOUND', /does not exist/],
    ['imageSequence without a pattern', () => json({ source: { uri: `${root}/cfr.mp4` }, imageSequence: {} }), 'SCHEMA_INVALID', /imageSequence/],
  ];

  it.each(cases)('refuses %s with a clear error', async (_what, body, code, message) => {
    const reply = await nc.request('vpipe.vis.inspect', body(), { timeout: 5_000 });
    const status = reply.headers?.get('Nats-Service-Error-Code');
    expect(Number(status)).toBeGreaterThanOrEqual(400);
    expect(reply.headers?.get('Nats-Service-Error')).toContain(code);
    const enc = reply.headers?.get('Content-Type');
    const parsed = (enc === 'application/json' ? JSON.parse(td.decode(reply.data)) : decode(reply.data)) as { error: { code: string; message: string; details?: { path: string }[] } };
    expect(parsed.error.code).toBe(code);
    expect(`${parsed.error.message} ${JSON.stringify(parsed.error.details ?? [])}`).toMatch(message);
  });

  it('refuses status and cancel for unknown or malformed job ids', async () => {
    const h = headers();
    h.set('Content-Type', 'application/json');
    const unknown = await nc.request('vpipe.vis.status', json({ jobId: 'ABCDEFGHIJKLMNOP' }), { headers: h, timeout: 5_000 });
    expect(unknown.headers?.get('Nats-Service-Error-Code')).toBe('404');
    const bad = await nc.request('vpipe.vis.cancel', json({ jobId: '../../x' }), { timeout: 5_000 });
    expect(bad.headers?.get('Nats-Service-Error-Code')).toBe('400');
  });

  it('keeps serving after all of them: a valid request still succeeds, and rejections are counted', async () => {
    const r = await inspectJson(path.join(root, 'cfr.mp4'));
    expect(r.video[0]!.frameCount).toBe(50);
    const [stats] = await collect('$SRV.STATS.vpipe-vis');
    const body = JSON.parse(td.decode(stats!.data)) as {
      endpoints: { name: string; num_requests: number; num_errors: number; data: { rejected: number; rejectedByCode: Record<string, number> } }[];
    };
    const inspect = body.endpoints.find((e) => e.name === 'inspect')!;
    expect(inspect.num_errors).toBeGreaterThanOrEqual(cases.length);
    expect(inspect.data.rejected).toBe(inspect.num_errors);
    expect(inspect.data.rejectedByCode.MEDIA_URI_FORBIDDEN).toBeGreaterThanOrEqual(7);
  });
});
