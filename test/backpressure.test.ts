/**
 * Backpressure on a real nats-server: past VPIPE_MAX_QUEUED_WORK the work
 * queue refuses new work with a clear, retryable error and stores nothing
 * for it; queued work is never dropped, and submissions succeed again once
 * the queue has room.
 */
import { jetstreamManager } from '@nats-io/jetstream';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ServiceRequestError } from '../runtime/core/mod.js';
import { startNode } from '../app/node.js';
import { STREAM_WORK, topologyFromEnv } from '../runtime/nats/topology.js';
import * as media from './helpers/media.js';
import { tempDir } from './helpers/nats.js';
import { startTestStack, type TestStack } from './helpers/stack.js';

let stack: TestStack;
const topology = { ...topologyFromEnv({}), maxQueuedWork: 3 };

beforeAll(async () => {
  // API only: accepted jobs stay queued until the test starts a workflow node.
  stack = await startTestStack('bp', { roles: ['api'], topology }, (dir) => media.makeCfr(dir));
});

afterAll(async () => {
  await stack?.cleanup();
});

describe('a full work queue', () => {
  it('refuses new jobs with a clear retryable error, keeps the queued ones, and takes jobs again once there is room', async () => {
    const req = { source: { uri: path.join(stack.root, 'cfr.mp4') } };
    const accepted = [];
    for (let i = 0; i < 3; i++) accepted.push(await stack.client.submit('vpipe.vis.inspect', req));

    const refused = await stack.client.submit('vpipe.vis.inspect', req).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(ServiceRequestError);
    expect((refused as ServiceRequestError).body).toMatchObject({ code: 'UNAVAILABLE', retryable: true, message: expect.stringMatching(/work queue is full \(at most 3 items.*VPIPE_MAX_QUEUED_WORK\); nothing was stored/) });
    const jsm = await jetstreamManager(stack.client.nc);
    expect((await jsm.streams.info(STREAM_WORK)).state.messages).toBe(3); // nothing dropped, nothing added
    // The refused submission left no job record behind.
    const keys: string[] = [];
    for await (const k of await stack.node.ctx.topology.jobs.keys('vis.>')) keys.push(k);
    expect(keys.sort()).toEqual(accepted.map((j) => `vis.${j}`).sort());

    // A workflow node drains the queue: every accepted job succeeds, and new ones are taken again.
    const workers = await startNode({ natsUrl: stack.server.url, mediaRoot: stack.root, dataDir: tempDir('bp-wf'), roles: ['workflow'], topology });
    try {
      for (const j of accepted) expect((await stack.client.waitForResult('vis', j, { timeoutMs: 60_000 })).state).toBe('succeeded');
      const later = await stack.client.submit('vpipe.vis.inspect', req);
      expect((await stack.client.waitForResult('vis', later, { timeoutMs: 60_000 })).state).toBe('succeeded');
    } finally {
      await workers.stop(500);
    }
  });

  it('makes a VES job with more chunks than the queue holds wait for room instead of failing', async () => {
    const node = await startNode({ natsUrl: stack.server.url, mediaRoot: stack.root, dataDir: tempDir('bp-ves'), roles: ['workflow', 'encoder'], topology, encoderActors: 1 });
    try {
      // About 10 chunks; the queue holds 3 items, one of them the VES job itself.
      const recipe = { codec: 'h264', preset: 'ultrafast', rateControl: { mode: 'crf', value: 30 }, chunking: { targetSeconds: 0.2, minSeconds: 0.2 } };
      const jobId = await stack.client.submit('vpipe.ves.encode', { source: { uri: path.join(stack.root, 'cfr.mp4') }, output: { uri: path.join(stack.root, 'bp.mkv') }, recipe });
      const ev = await stack.client.waitForResult('ves', jobId, { timeoutMs: 90_000 });
      expect(ev.state, JSON.stringify(ev.error)).toBe('succeeded');
      expect(ev.result).toMatchObject({ frames: 50 });
      expect((ev.result as { chunks: number }).chunks).toBeGreaterThanOrEqual(8); // more than the queue holds
      expect((await stack.client.status('ves', jobId)).attempts).toBe(1); // it waited; it was not failed and retried
    } finally {
      await node.stop(500);
    }
  });
});
