/**
 * Dead letters with a real nats-server: work whose worker keeps crashing
 * exhausts its deliveries, the MAX_DELIVERIES advisory moves it to the DLQ
 * with its reason, and the job fails with that reason instead of hanging;
 * work a worker gives up on (term) is dead-lettered with its reason too.
 */
import { jetstreamManager } from '@nats-io/jetstream';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { topologyFromEnv, STREAM_WORK } from '../runtime/topology.js';
import { WorkWorker } from '../runtime/work-worker.js';
import { STREAM_DLQ } from '../supervisor/dead-letters.js';
import * as media from './helpers/media.js';
import { startTestStack, type TestStack } from './helpers/stack.js';
import { eventually } from './helpers/stack-process.js';

let stack: TestStack;

beforeAll(async () => {
  // No encoder role: the test brings its own (broken) encoder actors.
  stack = await startTestStack('dlq', { roles: ['api', 'workflow'], topology: { ...topologyFromEnv({}), maxDeliver: 2, ackWaitMs: 2_000 } }, (dir) => media.makeCfr(dir));
});

afterAll(async () => {
  await stack?.cleanup();
});

async function dlqMessages(fn: string) {
  const jsm = await jetstreamManager(stack.client.nc);
  const info = await jsm.streams.info(STREAM_DLQ, { subjects_filter: `vpipe.dlq.${fn}` });
  return info.state.subjects?.[`vpipe.dlq.${fn}`] ?? 0;
}

describe('dead letters', () => {
  it('fails a job whose chunks exhaust their deliveries, with the reason, and keeps them in the DLQ', async () => {
    const crashing = new WorkWorker(stack.node.ctx, 'encode.h264', async () => {
      throw new Error('simulated encoder crash');
    }, { concurrency: 1, retryBaseMs: 10 });
    crashing.start();
    try {
      const jobId = await stack.client.submit('vpipe.ves.encode', {
        source: { uri: path.join(stack.root, 'cfr.mp4') },
        output: { uri: path.join(stack.root, 'never.mp4') },
        recipe: { codec: 'h264', rateControl: { mode: 'crf', value: 23 }, chunking: { targetSeconds: 1 } },
      });
      const ev = await stack.client.waitForResult('ves', jobId, { timeoutMs: 60_000 });
      expect(ev.state).toBe('failed');
      expect(ev.error?.message).toMatch(/chunk \d failed: gave up after 2 deliveries/);
      expect(await eventually(async () => ((await dlqMessages('encode.h264')) >= 1 ? true : undefined), 10_000, 'dead letters')).toBe(true);
      // The dead work is gone from the work queue (nothing left to redeliver).
      const jsm = await jetstreamManager(stack.client.nc);
      await eventually(async () => ((await jsm.streams.info(STREAM_WORK, { subjects_filter: 'vpipe.work.encode.>' })).state.messages === 0 ? true : undefined), 10_000, 'an empty encode queue');
    } finally {
      await crashing.stop(100);
    }
  });

  it('dead-letters work a worker gives up on, with its reason in the headers', async () => {
    const before = await dlqMessages('encode.av1');
    const refusing = new WorkWorker(stack.node.ctx, 'encode.av1', async () => ({ term: 'unsupported parameters for this encoder' }), { concurrency: 1 });
    refusing.start();
    try {
      await stack.node.ctx.js.publish('vpipe.work.encode.av1.normal', new TextEncoder().encode('{}'));
      await eventually(async () => ((await dlqMessages('encode.av1')) > before ? true : undefined), 10_000, 'the dead letter');
      const jsm = await jetstreamManager(stack.client.nc);
      const last = await jsm.streams.getMessage(STREAM_DLQ, { last_by_subj: 'vpipe.dlq.encode.av1' });
      expect(last?.header.get('Vpipe-Dead-Reason')).toBe('unsupported parameters for this encoder');
      expect(last?.header.get('Vpipe-Work-Subject')).toBe('vpipe.work.encode.av1.normal');
    } finally {
      await refusing.stop(100);
    }
  });
});
