/**
 * Heartbeats follow progress, and shapes are reserved per chunk item, on a
 * real nats-server with real ffmpeg:
 * - an encoder stopped with SIGSTOP reports no progress, so its item is no
 *   longer heartbeated and JetStream gives it to another node's actor; its
 *   own tool is then killed as stalled — retryable, not a crash — and no
 *   pool escalates;
 * - a slow encode that keeps progressing is heartbeated for as long as it
 *   runs, past several ack waits, and is never redelivered;
 * - a 1080p and a 360p chunk item in the same pool reserve different
 *   shapes from the node's ledger, and each ffmpeg runs with the threads of
 *   the shape it reserved (read from the spawned process's argv).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chunkHandler } from '../actors/ves/chunk-worker.js';
import { encodeChunk, type ChunkEncodeInput } from '../actors/ves/compute/encode-chunk.js';
import { h264 } from '../encoders/h264/index.js';
import { shapeFor } from '../encoders/shapes.js';
import { metrics } from '../runtime/core/metrics.js';
import { configureTools, toolOptions } from '../runtime/media/tool-limits.js';
import { topologyFromEnv } from '../runtime/nats/topology.js';
import { Supervisor } from '../supervisor/supervisor.js';
import type { Held } from '../supervisor/ledger.js';
import * as media from './helpers/media.js';
import { childrenNamed } from './helpers/procs.js';
import { verifyOutput } from './helpers/verify-output.js';
import { expectFrameExact } from './helpers/ves-proof.js';
import { startTestStack, type TestStack } from './helpers/stack.js';
import { eventually } from './helpers/stack-process.js';

const ACK_WAIT_MS = 2_000;
const FN = 'encode.h264';
let stack: TestStack;
let src: string;

beforeAll(async () => {
  // No encoder role: each test brings its own "nodes" (supervisors) for encode.h264.
  stack = await startTestStack('progress', { roles: ['api', 'workflow'], topology: { ...topologyFromEnv({}), ackWaitMs: ACK_WAIT_MS } }, async (root) => {
    src = await media.makeCfr(root);
  });
});

afterAll(async () => {
  configureTools(null);
  await stack?.cleanup();
});

const counter = async (c: { get(): Promise<{ values: { value: number; labels: Record<string, unknown> }[] }> }, fn = FN) =>
  (await c.get()).values.filter((v) => v.labels.function === fn).reduce((s, v) => s + v.value, 0);

/** A node's encoder pool for encode.h264 whose encodes are recorded by node name. */
function node(name: string, ran: { node: string; chunk: number; jobId: string; threads: number }[]) {
  const ctx = stack.node.ctx;
  const encode = (input: ChunkEncodeInput) => {
    ran.push({ node: name, chunk: input.chunk.index, jobId: input.outPath, threads: input.spec.threads });
    return encodeChunk(h264, input);
  };
  return new Supervisor(ctx, [{ fn: FN, handler: chunkHandler(ctx, name, { encode }), shape: shapeFor('h264', 1280, 720), min: 1, max: 1 }], {
    capacity: { cpus: 8, memoryMb: 16_384 },
    intervalMs: 200,
  });
}

const recipe = (extra: Record<string, unknown> = {}) => ({ codec: 'h264', preset: 'ultrafast', rateControl: { mode: 'crf', value: 23 }, chunking: { targetSeconds: 30 }, ...extra });

describe('heartbeats follow progress', () => {
  it('a hung ffmpeg (SIGSTOP) loses its heartbeats, its chunk is encoded by another node, and no pool escalates', async () => {
    // The stopped tool is killed as stalled after 15 s of silence: well after its item moved on (3 s without progress + the 2 s ack wait).
    configureTools({ ...toolOptions(), stallMs: 15_000 });
    const ran: { node: string; chunk: number; jobId: string; threads: number }[] = [];
    const a = node('A', ran);
    const b = node('B', ran);
    const withheld0 = await counter(metrics.heartbeatsWithheld);
    const restarts0 = await counter(metrics.actorRestarts);
    a.start();
    let stopped: number | null = null;
    try {
      const jobId = await stack.client.submit('vpipe.ves.encode', { source: { uri: src }, output: { uri: `${stack.root}/hung.mp4` }, recipe: recipe() });
      // A's ffmpeg for this job's chunk: stop it as soon as it runs.
      const victim = await eventually(() => childrenNamed('ffmpeg').find((p) => p.argv.some((x) => x.includes(jobId)) && p.argv.includes('-progress')), 30_000, "A's chunk encode");
      process.kill(victim.pid, 'SIGSTOP');
      stopped = victim.pid;
      b.start();
      const ev = await stack.client.waitForResult('ves', jobId, { timeoutMs: 60_000 });
      expect(ev.state).toBe('succeeded');
      // The chunk B encoded after A hung is the source's pictures (the test's own ffmpeg pass: 50 frames, times, PSNR).
      expectFrameExact('hung → other node', 50, await verifyOutput(src, `${stack.root}/hung.mp4`));
      // A took it first; B encoded it after A's heartbeats stopped (the result came from B's recorded chunk).
      const nodes = ran.filter((r) => r.jobId.includes(jobId)).map((r) => r.node);
      expect(nodes[0]).toBe('A');
      expect(nodes).toContain('B');
      expect(await counter(metrics.heartbeatsWithheld)).toBeGreaterThan(withheld0);
      // A's stopped tool is killed as stalled: a retryable failure of slow work, not an actor crash.
      await eventually(() => (childrenNamed('ffmpeg').some((p) => p.pid === victim.pid) ? undefined : true), 30_000, 'the stalled ffmpeg to be killed');
      stopped = null;
      await new Promise((r) => setTimeout(r, 500));
      expect(await counter(metrics.actorRestarts)).toBe(restarts0);
      expect(a.actors()[FN]).toBe(1);
      expect(b.actors()[FN]).toBe(1);
    } finally {
      if (stopped !== null) process.kill(stopped, 'SIGKILL');
      configureTools(null);
      await Promise.all([a.stop(500), b.stop(500)]);
    }
  });

  it('a slow encode that keeps progressing is heartbeated through several ack waits and never redelivered', async () => {
    const ran: { node: string; chunk: number; jobId: string; threads: number }[] = [];
    const a = node('A', ran);
    const withheld0 = await counter(metrics.heartbeatsWithheld);
    a.start();
    try {
      const started = Date.now();
      // 720p at x264's `veryslow` from a 2 s source: seconds of encoding, with -progress lines all along.
      const jobId = await stack.client.submit('vpipe.ves.encode', {
        source: { uri: src },
        output: { uri: `${stack.root}/slow.mp4` },
        recipe: recipe({ preset: 'veryslow', resolution: { width: 1280, height: 720 } }),
      });
      const ev = await stack.client.waitForResult('ves', jobId, { timeoutMs: 120_000 });
      expect(ev.state).toBe('succeeded');
      expectFrameExact('slow, progressing', 50, await verifyOutput(src, `${stack.root}/slow.mp4`));
      const encodeSeconds = (ev.result as { encodeSeconds: number }).encodeSeconds;
      // The point of the test: the encode outlasted two ack waits.
      expect(encodeSeconds * 1000).toBeGreaterThan(2 * ACK_WAIT_MS);
      expect(Date.now() - started).toBeGreaterThan(2 * ACK_WAIT_MS);
      expect(ran.filter((r) => r.jobId.includes(jobId)).map((r) => r.node)).toEqual(['A']);
      expect(await counter(metrics.heartbeatsWithheld)).toBe(withheld0);
    } finally {
      await a.stop(500);
    }
  });
});

describe('shapes per chunk item', () => {
  it('a 1080p and a 360p item in one pool reserve different shapes and run with those threads', async () => {
    const ran: { node: string; chunk: number; jobId: string; threads: number }[] = [];
    const sup = node('S', ran);
    const seenHeld = new Map<string, Held>();
    const seenThreads = new Map<string, string>();
    sup.start();
    let watching = true;
    const watch = (async () => {
      while (watching) {
        for (const h of sup.ledger.holdings()) seenHeld.set(h.shape.name, h);
        for (const p of childrenNamed('ffmpeg')) {
          const i = p.argv.indexOf('-threads');
          const out = p.argv.find((x) => x.includes('.vpipe-work') || x.includes('chunk_'));
          if (i >= 0 && out) seenThreads.set(out, p.argv[i + 1]!);
        }
        await new Promise((r) => setTimeout(r, 20));
      }
    })();
    try {
      const big = await stack.client.submit('vpipe.ves.encode', { source: { uri: src }, output: { uri: `${stack.root}/big.mp4` }, recipe: recipe({ resolution: { width: 1920, height: 1080 } }) });
      const small = await stack.client.submit('vpipe.ves.encode', { source: { uri: src }, output: { uri: `${stack.root}/small.mp4` }, recipe: recipe({ resolution: { width: 640, height: 360 } }) });
      for (const id of [big, small]) expect((await stack.client.waitForResult('ves', id, { timeoutMs: 120_000 })).state).toBe('succeeded');
      watching = false;
      await watch;
      // The ledger held a `large` (1080p h264: 4 CPUs) and a `small` (360p: 1 CPU) reservation for the same pool.
      expect(seenHeld.get('large')).toMatchObject({ fn: FN, shape: { name: 'large', cpus: 4 } });
      expect(seenHeld.get('small')).toMatchObject({ fn: FN, shape: { name: 'small', cpus: 1 } });
      // The spawned encoders ran with exactly those threads.
      const threadsOf = (jobId: string) => [...seenThreads].filter(([out]) => out.includes(jobId)).map(([, t]) => t);
      expect(threadsOf(big)).toContain('4');
      expect(threadsOf(small)).toContain('1');
      expect(new Set(threadsOf(big))).toEqual(new Set(['4']));
      expect(new Set(threadsOf(small))).toEqual(new Set(['1']));
      expect(ran.find((r) => r.jobId.includes(big))?.threads).toBe(4);
      expect(ran.find((r) => r.jobId.includes(small))?.threads).toBe(1);
      // Everything reserved was released.
      expect(sup.ledger.used).toEqual({ cpus: 0, memoryMb: 0 });
    } finally {
      watching = false;
      await watch;
      await sup.stop(500);
    }
  });
});
