/**
 * Latency through priority classes: a long low-priority, streaming-sized encode (dozens of 4 s
 * chunks) occupies every encoder actor; a studio job submitted afterwards (high priority by
 * default) has its first chunk started within 2 × the long job's chunk encode time of its
 * submission — VIS and planning included — and finishes first. Chunk start times are read from
 * the chunk records as the encoder actors write them (a KV watch), not from vpipe's logs.
 */
import path from 'node:path';
import { Kvm } from '@nats-io/kv';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ChunkResult } from '../actors/ves/messages.js';
import { decodeInternal, KV_CHUNKS } from '../runtime/nats/mod.js';
import type { StudioResult } from '../schemas/studio.js';
import { ffmpeg, motion } from './helpers/media.js';
import { startTestStack, type TestStack } from './helpers/stack.js';
import { resultOf } from './helpers/studio.js';

let stack: TestStack;
let long: string;
let clip: string;

beforeAll(async () => {
  stack = await startTestStack('studio-priority', { encoderActors: 2, concurrency: 4 }, async (root) => {
    long = path.join(root, 'feature.mp4');
    clip = path.join(root, 'dailies.mp4');
    await Promise.all([
      ffmpeg(['-f', 'lavfi', '-i', motion('640x360', 25, 60), '-c:v', 'libx264', '-preset', 'ultrafast', '-g', '50', '-pix_fmt', 'yuv420p', long]),
      ffmpeg(['-f', 'lavfi', '-i', motion('320x180', 25, 8), '-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p', clip]),
    ]);
  });
}, 180_000);

afterAll(async () => {
  await stack?.cleanup();
});

describe('priority', () => {
  it('a studio job overtakes a long low-priority encode that fills every encoder actor', async () => {
    // Every chunk record as it is written: job id → chunks with their start and encode times.
    const chunks = new Map<string, ChunkResult[]>();
    const kv = await new Kvm(stack.client.nc).open(KV_CHUNKS);
    const watch = await kv.watch({ key: '>' });
    void (async () => {
      for await (const e of watch) {
        if (e.operation !== 'PUT' || !e.value.length || e.key.includes('.child.')) continue;
        const jobId = e.key.slice(0, e.key.lastIndexOf('.'));
        const r = decodeInternal(ChunkResult, e.value);
        chunks.set(jobId, [...(chunks.get(jobId) ?? []), r]);
      }
    })();
    try {
      const lowJob = await stack.client.submit(
        'vpipe.ves.encode',
        // "Streaming-sized": 15 chunks of 4 s at a slow preset.
        { source: { uri: long }, recipe: { codec: 'h264', preset: 'slow', rateControl: { mode: 'crf', value: 20 }, chunking: { targetSeconds: 4 } }, output: { uri: path.join(stack.root, 'feature.out.mp4') }, priority: 'low' },
        'json',
      );
      // Wait until the low job's chunks are being encoded and a few have finished (so its chunk time is known).
      const t0 = Date.now();
      while ((chunks.get(lowJob)?.length ?? 0) < 3) {
        if (Date.now() - t0 > 180_000) throw new Error('the long job never got going');
        await new Promise((r) => setTimeout(r, 200));
      }
      const submittedAt = Date.now();
      const studioJob = await stack.client.submit('vpipe.studio.submit', { source: { uri: clip }, output: { uri: path.join(stack.root, 'dailies.mp4.proxy.mp4') }, recipe: 'proxy-h264-720p', burnIn: { timecode: {}, text: ['DAILIES'] } }, 'json');
      const studioEv = await stack.client.waitForResult('studio', studioJob, { timeoutMs: 300_000 });
      const studioDone = Date.now();
      const r = resultOf<StudioResult>(studioEv);
      const vesJob = r.ves[0]!.jobId;
      const studioChunks = chunks.get(vesJob) ?? [];
      expect(studioChunks.length).toBe(r.ves[0]!.chunks);
      const firstStart = Math.min(...studioChunks.map((c) => c.startedAt!));
      const lowSoFar = chunks.get(lowJob)!.filter((c) => c.ok);
      const chunkSeconds = lowSoFar.reduce((s, c) => s + c.encodeSeconds!, 0) / lowSoFar.length;
      const waited = (firstStart - submittedAt) / 1000;
      console.log(`long job chunks: ${chunkSeconds.toFixed(2)} s each; studio first chunk started ${waited.toFixed(2)} s after submission (limit ${(2 * chunkSeconds).toFixed(2)} s); studio done in ${((studioDone - submittedAt) / 1000).toFixed(1)} s with ${lowSoFar.length} low chunks done`);
      expect(waited).toBeLessThanOrEqual(2 * chunkSeconds);
      // The long job is still far from done when the studio job has finished.
      const lowEv = await stack.client.status('ves', lowJob);
      expect(['running', 'accepted']).toContain(lowEv.state);
      expect(lowSoFar.length).toBeLessThan(15);
      await stack.client.request('vpipe.ves.cancel', { jobId: lowJob }, { encoding: 'json' });
    } finally {
      watch.stop();
    }
  }, 400_000);
});
