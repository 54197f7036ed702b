/**
 * A VES job that is cancelled or fails leaves nothing behind: its work
 * directory and chunk records are removed, and chunk items still queued for
 * it are acked by the encoder actors without encoding (real nats-server,
 * real ffmpeg).
 */
import { jetstreamManager } from '@nats-io/jetstream';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { metrics } from '../runtime/core/metrics.js';
import { startNode } from '../app/node.js';
import { STREAM_WORK } from '../runtime/nats/topology.js';
import * as media from './helpers/media.js';
import { tempDir } from './helpers/nats.js';
import { startTestStack, type TestStack } from './helpers/stack.js';
import { eventually } from './helpers/stack-process.js';

let stack: TestStack;

beforeAll(async () => {
  // No encoder role at first: chunk items wait in the queue until the test starts encoders.
  stack = await startTestStack('ended', { roles: ['api', 'workflow'] }, (dir) => media.makeCfr(dir));
});

afterAll(async () => {
  await stack?.cleanup();
});

async function chunkKeys(jobId: string): Promise<string[]> {
  const keys: string[] = [];
  for await (const k of await stack.node.ctx.topology.chunks.keys(`${jobId}.>`)) keys.push(k);
  return keys;
}

async function queuedChunks(): Promise<number> {
  const jsm = await jetstreamManager(stack.client.nc);
  // state.messages counts the whole stream; the filtered per-subject counts are the chunk items alone.
  const subjects = (await jsm.streams.info(STREAM_WORK, { subjects_filter: 'vpipe.work.encode.>' })).state.subjects ?? {};
  return Object.values(subjects).reduce((a, n) => a + n, 0);
}

async function skippedChunks(): Promise<number> {
  const m = await metrics.chunks.get();
  return m.values.filter((v) => v.labels.outcome === 'skipped').reduce((a, v) => a + v.value, 0);
}

describe('a VES job that ends early', () => {
  it('cancelled while its chunks wait: work directory and chunk records removed, queued chunks skipped without encoding', async () => {
    const recipe = { codec: 'h264', preset: 'ultrafast', rateControl: { mode: 'crf', value: 30 }, chunking: { targetSeconds: 0.2, minSeconds: 0.2 } };
    const jobId = await stack.client.submit('vpipe.ves.encode', { source: { uri: path.join(stack.root, 'cfr.mp4') }, output: { uri: path.join(stack.root, 'cancelled.mkv') }, recipe });
    const workDir = path.join(stack.root, `.vpipe-${jobId}`);
    // Planned and dispatched, nothing encoding (no encoder role yet).
    await eventually(async () => ((await stack.client.status('ves', jobId)).step === 'encoding' ? true : undefined), 30_000, 'the encoding step');
    expect(fs.existsSync(workDir)).toBe(true);
    const queued = await queuedChunks();
    expect(queued).toBeGreaterThanOrEqual(5);

    const reply = await stack.client.request<{ state: string }>('vpipe.ves.cancel', { jobId });
    expect(reply.state).toBe('cancelling');
    const ev = await stack.client.waitForResult('ves', jobId, { timeoutMs: 30_000 });
    expect(ev.state).toBe('cancelled');
    await eventually(async () => (!fs.existsSync(workDir) ? true : undefined), 10_000, 'the work directory removed');
    expect(await chunkKeys(jobId)).toEqual([]);

    // Encoders come up: the orphaned items are taken and acked without encoding anything.
    const skippedBefore = await skippedChunks();
    const encoders = await startNode({ natsUrl: stack.server.url, mediaRoot: stack.root, dataDir: tempDir('ended-enc'), roles: ['encoder'], encoderActors: 2 });
    try {
      await eventually(async () => ((await queuedChunks()) === 0 ? true : undefined), 30_000, 'an empty encode queue');
      expect((await skippedChunks()) - skippedBefore).toBe(queued);
      expect(await chunkKeys(jobId)).toEqual([]);
      expect(fs.existsSync(workDir)).toBe(false);
      expect(fs.existsSync(path.join(stack.root, 'cancelled.mkv'))).toBe(false);
    } finally {
      await encoders.stop(500);
    }
  });

  it('failed: a job whose source vanished after planning leaves no work directory or chunk records', async () => {
    const src = path.join(stack.root, 'vanishing.mp4');
    fs.copyFileSync(path.join(stack.root, 'cfr.mp4'), src);
    const recipe = { codec: 'h264', preset: 'ultrafast', rateControl: { mode: 'crf', value: 30 }, chunking: { targetSeconds: 0.5, minSeconds: 0.2 } };
    const jobId = await stack.client.submit('vpipe.ves.encode', { source: { uri: src }, output: { uri: path.join(stack.root, 'failed.mkv') }, recipe });
    await eventually(async () => ((await stack.client.status('ves', jobId)).step === 'encoding' ? true : undefined), 30_000, 'the encoding step');
    fs.rmSync(src);
    const encoders = await startNode({ natsUrl: stack.server.url, mediaRoot: stack.root, dataDir: tempDir('ended-enc2'), roles: ['encoder'], encoderActors: 1 });
    try {
      const ev = await stack.client.waitForResult('ves', jobId, { timeoutMs: 60_000 });
      expect(ev.state).toBe('failed');
      expect(ev.error?.message).toMatch(/chunk \d+ failed/);
      await eventually(async () => (!fs.existsSync(path.join(stack.root, `.vpipe-${jobId}`)) ? true : undefined), 10_000, 'the work directory removed');
      expect(await chunkKeys(jobId)).toEqual([]);
      await eventually(async () => ((await queuedChunks()) === 0 ? true : undefined), 30_000, 'an empty encode queue');
    } finally {
      await encoders.stop(500);
    }
  });
});
