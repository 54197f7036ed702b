/**
 * Dead letters with a real nats-server: work whose worker keeps crashing
 * exhausts its deliveries, the MAX_DELIVERIES advisory moves it to the DLQ
 * with its reason, and the job fails with that reason instead of hanging;
 * work a worker gives up on (term) is dead-lettered with its reason too, and
 * so is a chunk whose encoder took frames that are not the index's.
 */
import { jetstreamManager } from '@nats-io/jetstream';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runTool } from '../runtime/media/tools.js';
import { startNode } from '../app/node.js';
import { topologyFromEnv, STREAM_WORK } from '../runtime/nats/topology.js';
import { WorkWorker } from '../runtime/workers/host.js';
import { RetryPolicies } from '../runtime/core/mod.js';
import { chunkHandler } from '../actors/ves/chunk-worker.js';
import { encodeChunk } from '../actors/ves/compute/encode-chunk.js';
import { h264 } from '../encoders/h264/index.js';
import { publishDeadLetter, STREAM_DLQ } from '../supervisor/dead-letters.js';

/** The supervisor's plug: what a pool it owns does with terminated items. */
const toDlq = () => ({ deadLetter: (d: Parameters<typeof publishDeadLetter>[1]) => publishDeadLetter(stack.node.ctx, d) });
import * as media from './helpers/media.js';
import { tempDir } from './helpers/nats.js';
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

/** MJPEG in AVI with frames 20–29 zeroed: they cannot be decoded. */
async function makePoison(dir: string): Promise<string> {
  const file = path.join(dir, 'poison.avi');
  const r = await runTool('ffmpeg', ['-v', 'error', '-f', 'lavfi', '-i', 'testsrc2=s=320x240:r=25:d=2', '-c:v', 'mjpeg', '-q:v', '5', '-y', file]);
  expect(r.code).toBe(0);
  const pk = await runTool('ffprobe', ['-v', 'error', '-select_streams', 'v:0', '-show_entries', 'packet=pos,size', '-of', 'json', file]);
  const packets = (JSON.parse(pk.stdout) as { packets: { pos: string; size: string }[] }).packets;
  const fh = await fsp.open(file, 'r+');
  for (const p of packets.slice(20, 30)) await fh.write(Buffer.alloc(Number(p.size)), 0, Number(p.size), Number(p.pos));
  await fh.close();
  return file;
}

describe('dead letters', () => {
  it('fails a job whose chunks exhaust their deliveries, with the reason, and keeps them in the DLQ', async () => {
    const crashing = new WorkWorker(stack.node.ctx, 'encode.h264', async () => {
      throw new Error('simulated encoder crash');
    }, { concurrency: 1, retry: RetryPolicies.chunk.with({ initialIntervalMs: 10, maximumIntervalMs: 10 }) });
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

  it('refuses a damaged source at planning, naming its decode errors, and keeps serving other jobs', async () => {
    const poison = await makePoison(stack.root);
    const encoders = await startNode({ natsUrl: stack.server.url, mediaRoot: stack.root, dataDir: tempDir('dlq-enc'), roles: ['encoder'], encoderActors: 1 });
    try {
      const recipe = { codec: 'h264', rateControl: { mode: 'crf', value: 23 }, chunking: { targetSeconds: 0.4, minSeconds: 0.2 } };
      const bad = await stack.client.submit('vpipe.ves.encode', { source: { uri: poison }, output: { uri: path.join(stack.root, 'poison.mp4') }, recipe });
      const good = await stack.client.submit('vpipe.ves.encode', { source: { uri: path.join(stack.root, 'cfr.mp4') }, output: { uri: path.join(stack.root, 'good.mp4') }, recipe });
      const [badEv, goodEv] = await Promise.all([stack.client.waitForResult('ves', bad, { timeoutMs: 60_000 }), stack.client.waitForResult('ves', good, { timeoutMs: 60_000 })]);
      expect(badEv.state).toBe('failed');
      expect(badEv.error?.code).toBe('BAD_REQUEST');
      expect(badEv.error?.message).toMatch(/the source's video is damaged: decoding it logged \d+ error/);
      expect(goodEv.state).toBe('succeeded');
    } finally {
      await encoders.stop(500);
    }
  });

  it('a chunk whose encoder took the wrong frames fails its job with CONTENT_MISMATCH naming the chunk, and is dead-lettered', async () => {
    const before = await dlqMessages('encode.h264');
    // An encoder actor with a one-frame slip on chunk 2: it decodes one frame too many before the chunk starts.
    const lying = new WorkWorker(
      stack.node.ctx,
      'encode.h264',
      chunkHandler(stack.node.ctx, 'lying', {
        encode: (input) => encodeChunk(h264, input.chunk.index === 2 ? { ...input, chunk: { ...input.chunk, skipFrames: (input.chunk.skipFrames ?? 0) + 1 } } : input),
      }),
      { concurrency: 1, ...toDlq() },
    );
    lying.start();
    try {
      const recipe = { codec: 'h264', preset: 'ultrafast', rateControl: { mode: 'crf', value: 23 }, chunking: { targetSeconds: 0.4, minSeconds: 0.2 } };
      const jobId = await stack.client.submit('vpipe.ves.encode', { source: { uri: path.join(stack.root, 'cfr.mp4') }, output: { uri: path.join(stack.root, 'slipped.mp4') }, recipe });
      const ev = await stack.client.waitForResult('ves', jobId, { timeoutMs: 60_000 });
      expect(ev.state).toBe('failed');
      expect(ev.error?.code).toBe('CONTENT_MISMATCH');
      expect(ev.error?.message).toMatch(/chunk 2 failed: chunk 2: source frame \d+ is not the index's picture/);
      expect(ev.error?.details?.[0]?.message).toBe('CONTENT_MISMATCH');
      expect(await eventually(async () => ((await dlqMessages('encode.h264')) > before ? true : undefined), 10_000, 'the dead letter')).toBe(true);
      const jsm = await jetstreamManager(stack.client.nc);
      const last = await jsm.streams.getMessage(STREAM_DLQ, { last_by_subj: 'vpipe.dlq.encode.h264' });
      expect(last?.header.get('Vpipe-Dead-Reason')).toMatch(/chunk 2: source frame \d+ is not the index's picture/);
    } finally {
      await lying.stop(100);
    }
  });

  it('dead-letters work a worker gives up on, with its reason in the headers', async () => {
    const before = await dlqMessages('encode.av1');
    const refusing = new WorkWorker(stack.node.ctx, 'encode.av1', async () => ({ term: 'unsupported parameters for this encoder' }), { concurrency: 1, ...toDlq() });
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
