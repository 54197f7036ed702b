/**
 * Priority classes with real workers: one encoder actor is busy with a large
 * low-priority job; a high-priority job submitted meanwhile gets its chunks
 * encoded before the low job's remaining chunks.
 */
import { Kvm } from '@nats-io/kv';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ChunkResult } from '../actors/ves/messages.js';
import { VpipeClient } from '../runtime/jobs/client.js';
import { runTool } from '../runtime/media/tools.js';
import { KV_CHUNKS } from '../runtime/nats/topology.js';
import { decodeInternal } from '../runtime/nats/wire.js';
import * as media from './helpers/media.js';
import { startTestStack, type TestStack } from './helpers/stack.js';
import { eventually } from './helpers/stack-process.js';

let stack: TestStack;
let client: VpipeClient;
let root: string;

beforeAll(async () => {
  stack = await startTestStack('prio', { concurrency: 2, encoderActors: 1 }, async (dir) => {
    await media.makeCfr(dir);
    // 5 s at 320x240, keyframes every 12 frames: several chunks for the low job, starting at verified keyframes.
    const r = await runTool('ffmpeg', ['-v', 'error', '-f', 'lavfi', '-i', 'testsrc2=size=320x240:rate=25:duration=5', '-c:v', 'libx264', '-preset', 'ultrafast', '-g', '12', path.join(dir, 'five.mp4')]);
    expect(r.code).toBe(0);
  });
  ({ client, root } = stack);
});

afterAll(async () => {
  await stack?.cleanup();
});

describe('priority classes', () => {
  it('starts a high job\'s chunks before the remaining chunks of a running low job', async () => {
    const started: { jobId: string; index: number; startedAt: number }[] = [];
    const kv = await new Kvm(client.nc).open(KV_CHUNKS);
    const watch = await kv.watch({ key: '>' });
    void (async () => {
      for await (const e of watch) {
        if (e.operation !== 'PUT' || !e.value.length) continue;
        const r = decodeInternal(ChunkResult, e.value);
        started.push({ jobId: e.key.split('.')[0]!, index: r.index, startedAt: r.startedAt ?? 0 });
      }
    })();
    const recipe = { codec: 'h264', preset: 'medium', rateControl: { mode: 'crf', value: 23 }, chunking: { targetSeconds: 0.5, minSeconds: 0.2 } };
    const low = await client.submit('vpipe.ves.encode', { source: { uri: path.join(root, 'five.mp4') }, recipe, output: { uri: path.join(root, 'low.mp4') }, priority: 'low', validate: false });
    // Wait until the low job is under way (its first chunk is done) …
    await eventually(() => (started.some((s) => s.jobId === low) ? true : undefined), 60_000, 'the first low chunk');
    const high = await client.submit('vpipe.ves.encode', { source: { uri: path.join(root, 'cfr.mp4') }, recipe, output: { uri: path.join(root, 'high.mp4') }, priority: 'high', validate: false });
    const [lowEv, highEv] = await Promise.all([client.waitForResult('ves', low, { timeoutMs: 120_000 }), client.waitForResult('ves', high, { timeoutMs: 120_000 })]);
    watch.stop();
    expect(lowEv.state).toBe('succeeded');
    expect(highEv.state).toBe('succeeded');

    const highStarts = started.filter((s) => s.jobId === high).map((s) => s.startedAt);
    const lowStarts = started.filter((s) => s.jobId === low).map((s) => s.startedAt);
    expect(highStarts).toHaveLength((highEv.result as { chunks: number }).chunks);
    // Chunk boundaries move to the source's verified keyframes (every 0.96 s here): several low chunks.
    expect(lowStarts).toHaveLength((lowEv.result as { chunks: number }).chunks);
    expect(lowStarts.length).toBeGreaterThanOrEqual(5);
    const lastHigh = Math.max(...highStarts);
    // Low chunks were still waiting when the high job came, and every one of them started after the high chunks.
    const lowAfter = lowStarts.filter((t) => t > Math.min(...highStarts));
    expect(lowAfter.length).toBeGreaterThan(0);
    for (const t of lowAfter) expect(t).toBeGreaterThan(lastHigh);
  });
});
