/**
 * The streaming orchestrator's API: bad requests refused at once with the
 * field named and nothing started; sources VIS finds errors in rejected with
 * SOURCE_REJECTED naming each issue; and a cancel mid-encode that cancels the
 * child VES jobs and packages nothing.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sourceFacts } from '../actors/streaming/steps.js';
import { metrics, ServiceRequestError } from '../runtime/core/mod.js';
import type { StreamingReport, StreamingResult } from '../schemas/streaming.js';
import type { InspectResult } from '../schemas/vis.js';
import { ffmpeg, makeAudioOnly, makeTruncated, motion } from './helpers/media.js';
import { startTestStack, type TestStack } from './helpers/stack.js';

let stack: TestStack;
let clip: string;
let audioOnly: string;
let truncated: string;

beforeAll(async () => {
  stack = await startTestStack('streaming-api', { encoderActors: 1, concurrency: 4, metricsPort: 0 }, async (root) => {
    clip = path.join(root, 'clip.mp4');
    await ffmpeg(['-f', 'lavfi', '-i', motion('854x480', 25, 12), '-c:v', 'libx264', '-preset', 'veryfast', '-pix_fmt', 'yuv420p', clip]);
    audioOnly = await makeAudioOnly(root);
    truncated = (await makeTruncated(root)).mkv;
  });
});

afterAll(async () => {
  await stack?.cleanup();
});

const accepted = async (service: string) => (await metrics.jobsAccepted.get()).values.find((v) => v.labels.service === service)?.value ?? 0;

async function refusal(body: object) {
  const e = await stack.client.request('vpipe.streaming.submit', body, { encoding: 'json' }).then(
    () => null,
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(ServiceRequestError);
  return (e as ServiceRequestError).body;
}

describe('bad requests', () => {
  it('are refused with a clear error naming the field, and nothing is started', async () => {
    const before = await accepted('streaming');
    const src = { uri: `file://${clip}` };
    const out = { uri: `file://${stack.root}/out/` };
    expect(await refusal({ source: src, output: out, codecs: ['mpeg2'] })).toMatchObject({ code: 'SCHEMA_INVALID', details: [{ path: 'codecs.0' }] });
    expect(await refusal({ source: src, output: out, codecs: ['h264', 'h264'] })).toMatchObject({ code: 'SCHEMA_INVALID', details: [{ path: 'codecs', message: 'each codec once' }] });
    expect(await refusal({ source: src, output: out, packaging: { segmentSeconds: 5 } })).toMatchObject({ code: 'SCHEMA_INVALID', details: [{ path: 'packaging.segmentSeconds' }] });
    expect(await refusal({ source: src, output: out, ladder: { mode: 'per-shot' } })).toMatchObject({ code: 'SCHEMA_INVALID', details: [{ path: 'ladder.mode' }] });
    expect(await refusal({ source: src, output: out, overrideIssues: ['NOT_AN_ISSUE'] })).toMatchObject({ code: 'SCHEMA_INVALID', details: [{ path: 'overrideIssues.0' }] });
    expect(await refusal({ source: src, output: out, audio: { loudness: { integratedLufs: 3 } } })).toMatchObject({ code: 'SCHEMA_INVALID', details: [{ path: 'audio.loudness.integratedLufs' }] });
    // Text that would reach a playlist or the MPD: a language tag with a quote, a name with markup.
    const sidecar = path.join(stack.root, 'subs.srt');
    fs.writeFileSync(sidecar, '1\n00:00:01,000 --> 00:00:02,000\nhi\n');
    expect(await refusal({ source: src, output: out, subtitles: [{ uri: sidecar, language: 'en"x' }] })).toMatchObject({ code: 'SCHEMA_INVALID', details: [{ path: 'subtitles.0.language' }] });
    expect(await refusal({ source: src, output: out, subtitles: [{ uri: sidecar, language: 'en', name: 'A<script>' }] })).toMatchObject({ code: 'SCHEMA_INVALID', details: [{ path: 'subtitles.0.name' }] });
    // Paths: outside the media root, through "..", a missing source, a sidecar outside, an output inside the source's own tree.
    expect(await refusal({ source: { uri: '/etc/passwd' }, output: out })).toMatchObject({ code: 'MEDIA_URI_FORBIDDEN', message: expect.stringMatching(/outside the media root/) });
    expect(await refusal({ source: src, output: { uri: '/tmp/elsewhere/' } })).toMatchObject({ code: 'MEDIA_URI_FORBIDDEN' });
    expect(await refusal({ source: src, output: { uri: `file://${stack.root}/../x/` } })).toMatchObject({ code: 'MEDIA_URI_FORBIDDEN', message: expect.stringMatching(/"\.\."/) });
    expect(await refusal({ source: { uri: path.join(stack.root, 'missing.mp4') }, output: out })).toMatchObject({ code: 'MEDIA_NOT_FOUND' });
    expect(await refusal({ source: src, output: out, subtitles: [{ uri: '/etc/hosts', language: 'en' }] })).toMatchObject({ code: 'MEDIA_URI_FORBIDDEN', details: [{ path: 'subtitles.0.uri' }] });
    expect(await refusal({ source: src, output: { uri: `file://${stack.root}/` } })).toMatchObject({ code: 'BAD_REQUEST', details: [{ path: 'output.uri' }] });
    expect(await accepted('streaming')).toBe(before);
    expect(fs.existsSync('/tmp/elsewhere')).toBe(false);
  });
});

describe('sources VIS finds errors in', () => {
  const rejected = async (file: string, overrideIssues?: string[]) => {
    const jobId = await stack.client.submit('vpipe.streaming.submit', { source: { uri: `file://${file}` }, output: { uri: `file://${stack.root}/rejected/` }, ...(overrideIssues ? { overrideIssues } : {}) });
    return stack.client.waitForResult('streaming', jobId, { timeoutMs: 120_000 });
  };

  it('are rejected with SOURCE_REJECTED, one detail per issue, saying how to accept them', async () => {
    const noVideo = await rejected(audioOnly);
    expect(noVideo).toMatchObject({ state: 'failed', error: { code: 'SOURCE_REJECTED', message: expect.stringMatching(/NO_VIDEO_STREAM.*overrideIssues/) } });
    expect(noVideo.error!.details).toEqual(expect.arrayContaining([expect.objectContaining({ path: 'source.uri', message: expect.stringMatching(/^NO_VIDEO_STREAM: /) })]));

    const cut = await rejected(truncated);
    expect(cut).toMatchObject({ state: 'failed', error: { code: 'SOURCE_REJECTED', details: [{ path: 'source.uri', message: expect.stringMatching(/^TRUNCATED: The file ends early/) }] } });
  });

  it('overridden by name, an issue is accepted: the job goes on with what the file holds and the report says so', async () => {
    const jobId = await stack.client.submit('vpipe.streaming.submit', { source: { uri: `file://${truncated}` }, output: { uri: `file://${stack.root}/accepted/` }, ladder: { mode: 'fixed' }, measure: false, overrideIssues: ['TRUNCATED'] });
    const ev = await stack.client.waitForResult('streaming', jobId, { timeoutMs: 120_000 });
    expect(ev.state, JSON.stringify(ev.error)).toBe('succeeded');
    const report = JSON.parse(fs.readFileSync(new URL((ev.result as StreamingResult).report.uri), 'utf8')) as StreamingReport;
    expect(report.notes).toEqual(expect.arrayContaining([expect.stringMatching(/^accepted by request \(overrideIssues\): TRUNCATED: /)]));
  });

  it('the rule on an inspection result: errors refused unless overridden, warnings noted', () => {
    const inspection = {
      video: [{ index: 0, resolution: { width: 640, height: 360 }, sar: { num: 1, den: 1 }, frameRate: { num: 25, den: 1 }, avgFrameRate: null, frameCount: 50, durationSeconds: 2, startTimeSeconds: 0 }],
      audio: [],
      container: { durationSeconds: 2 },
      issues: [
        { severity: 'error', code: 'DECODE_ERRORS', message: '3 decode errors' },
        { severity: 'warning', code: 'NO_AUDIO_STREAM', message: 'no audio' },
      ],
    } as unknown as InspectResult;
    expect(() => sourceFacts({ overrideIssues: [] }, inspection, 1)).toThrow(/DECODE_ERRORS/);
    const facts = sourceFacts({ overrideIssues: ['DECODE_ERRORS'] }, inspection, 1);
    expect(facts).toMatchObject({ width: 640, height: 360, frames: 50, durationSeconds: 2 });
    expect(facts.notes).toEqual(['accepted by request (overrideIssues): DECODE_ERRORS: 3 decode errors', 'VIS warning: NO_AUDIO_STREAM: no audio']);
  });
});

describe('cancelling a streaming job', () => {
  it('mid-encode cancels its child VES jobs and packages nothing', async () => {
    const out = path.join(stack.root, 'cancelled');
    // 12 s of 480p: the fixed ladder's four rungs up to 432p, one encoder actor, so most are still to do.
    const jobId = await stack.client.submit('vpipe.streaming.submit', { source: { uri: `file://${clip}` }, output: { uri: `file://${out}/` }, ladder: { mode: 'fixed' }, measure: false }, 'json');
    const kv = stack.node.ctx.topology.chunks;
    const children = new Map<string, string>();
    await expect
      .poll(
        async () => {
          for await (const k of await kv.keys(`${jobId}.child.>`)) if (k.includes('.child.ves_')) children.set(k, (await kv.get(k))!.string());
          return children.size;
        },
        { timeout: 60_000, interval: 50 },
      )
      .toBe(4);
    expect(await stack.client.request('vpipe.streaming.cancel', { jobId })).toMatchObject({ state: 'cancelling' });
    const ev = await stack.client.waitForResult('streaming', jobId, { timeoutMs: 60_000 });
    expect(ev).toMatchObject({ state: 'cancelled', error: { code: 'CANCELLED' } });
    const states = await Promise.all([...children.values()].map(async (child) => (await stack.client.waitForResult('ves', child, { timeoutMs: 60_000 })).state));
    expect(states).toContain('cancelled');
    expect(states.every((s) => s === 'cancelled' || s === 'succeeded')).toBe(true);
    expect(fs.existsSync(path.join(out, 'hls'))).toBe(false);
    expect(fs.existsSync(path.join(out, 'report.json'))).toBe(false);
    // The child records go with the job.
    await expect
      .poll(async () => {
        const left: string[] = [];
        for await (const k of await kv.keys(`${jobId}.child.>`)) left.push(k);
        return left.length;
      }, { timeout: 10_000 })
      .toBe(0);
  });
});
