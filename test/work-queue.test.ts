/**
 * The work-queue plumbing on a real nats-server: the pipelined JetStream
 * publisher (acks, duplicates, errors a retry can classify) and the shared
 * priority puller (many actors waiting on one puller, batched pulls, priority
 * order, nothing lost or taken twice, callers that leave).
 */
import { jetstreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isNoResponders, isTransient } from '../runtime/nats/js-retry.js';
import { JetStreamPublisher, kvPutSubject, kvStream } from '../runtime/nats/publisher.js';
import { rootLogger } from '../runtime/core/logger.js';
import { metrics } from '../runtime/core/metrics.js';
import { PriorityPuller, type Taken } from '../runtime/workers/puller.js';
import { createRuntimeContext, type RuntimeContext } from '../runtime/nats/context.js';
import { ensureTopology, KV_CHUNKS, STREAM_WORK, topologyFromEnv, workConsumer, workSubject } from '../runtime/nats/topology.js';
import { startTestServer, type TestServer } from './helpers/nats.js';

let server: TestServer;
let ctx: RuntimeContext;
let nc: NatsConnection;
const te = new TextEncoder();
const td = new TextDecoder();

beforeAll(async () => {
  server = await startTestServer();
  ctx = await createRuntimeContext({ servers: server.url, name: 'wq-test', mediaRoot: '/tmp', log: rootLogger, workFunctions: ['t.one', 't.many', 't.prio', 't.leave', 't.wait', 't.spare'], topology: topologyFromEnv({}) });
  nc = await connect({ servers: server.url });
});

afterAll(async () => {
  ctx?.pub.close();
  await ctx?.nc.close();
  await nc?.close();
  await server?.cleanup();
});

async function pendingOf(fn: string, p: 'high' | 'normal' | 'low'): Promise<{ pending: number; ackPending: number }> {
  const jsm = await jetstreamManager(nc);
  const ci = await jsm.consumers.info(STREAM_WORK, workConsumer(fn, p));
  return { pending: ci.num_pending, ackPending: ci.num_ack_pending };
}

describe('JetStreamPublisher', () => {
  it('resolves with the stored sequence and reports a repeated Nats-Msg-Id as a duplicate', async () => {
    const a = await ctx.pub.publish(workSubject('t.one', 'normal'), te.encode('x'), { msgID: 'wq-dup-1' });
    const b = await ctx.pub.publish(workSubject('t.one', 'normal'), te.encode('x'), { msgID: 'wq-dup-1' });
    expect(a.stream).toBe(STREAM_WORK);
    expect(a.seq).toBeGreaterThan(0);
    expect(a.duplicate).toBe(false);
    expect(b).toMatchObject({ stream: STREAM_WORK, seq: a.seq, duplicate: true });
    expect(ctx.pub.pending).toBe(0);
  });

  it('writes KV entries the KV API reads back', async () => {
    await ctx.pub.publish(kvPutSubject(KV_CHUNKS, 'wq.job.7'), te.encode('done'));
    const e = await ctx.topology.chunks.get('wq.job.7');
    expect(e && td.decode(e.value)).toBe('done');
  });

  it('pipelines thousands of publishes and matches every acknowledgement to its message', async () => {
    const acks = await Promise.all(Array.from({ length: 2_000 }, (_, i) => ctx.pub.publish(kvPutSubject(KV_CHUNKS, `wq.many.${i}`), te.encode(String(i)))));
    const seqs = new Set(acks.map((a) => a.seq));
    expect(seqs.size).toBe(2_000);
    const e = await ctx.topology.chunks.get('wq.many.1234');
    expect(e?.revision).toBe(acks[1234]!.seq);
  });

  it('rejects a subject no stream captures as "no responders" (retryable), and an API error as not transient', async () => {
    const noStream = await ctx.pub.publish('nobody.stores.this', te.encode('x')).catch((e: unknown) => e);
    expect(noStream).toBeInstanceOf(Error);
    expect(isNoResponders(noStream)).toBe(true);
    const h = (await import('@nats-io/transport-node')).headers();
    h.set('Nats-Expected-Stream', 'SOME_OTHER_STREAM');
    const wrongStream = await ctx.pub.publish(workSubject('t.one', 'low'), te.encode('x'), { headers: h }).catch((e: unknown) => e);
    expect(wrongStream).toBeInstanceOf(Error);
    expect((wrongStream as Error).message).toMatch(/expected stream/i);
    expect(isTransient(wrongStream)).toBe(false);
  });

  it('times out (as a transient error) when a responder never answers', async () => {
    const sub = nc.subscribe('silent.responder'); // takes the request, never replies: no 503 either
    await nc.flush(); // the server knows the subscription before the publish
    const pub = new JetStreamPublisher(ctx.nc, 300);
    const t0 = Date.now();
    const e = await pub.publish('silent.responder', te.encode('x')).catch((err: unknown) => err);
    expect((e as Error).name).toBe('TimeoutError');
    expect(isTransient(e)).toBe(true);
    expect(Date.now() - t0).toBeLessThan(2_000);
    expect(pub.pending).toBe(0);
    pub.close();
    sub.unsubscribe();
  });
});

describe('PriorityPuller shared by a pool', () => {
  it('serves many waiting actors from batched pulls: every item taken exactly once', async () => {
    const puller = new PriorityPuller(ctx.nc, 't.many');
    const n = 300;
    await Promise.all(Array.from({ length: n }, (_, i) => ctx.pub.publish(workSubject('t.many', 'normal'), te.encode(String(i)))));
    const seen: string[] = [];
    // 16 actors, each taking items until the queue is empty.
    await Promise.all(
      Array.from({ length: 16 }, async () => {
        for (;;) {
          const stop = AbortSignal.timeout(1_500);
          const t = await puller.next(stop);
          if (!t) return;
          seen.push(td.decode(t.msg.data));
          t.msg.ackNoWait();
        }
      }),
    );
    puller.close();
    expect(seen.length).toBe(n);
    expect(new Set(seen).size).toBe(n);
    await expect.poll(() => pendingOf('t.many', 'normal')).toEqual({ pending: 0, ackPending: 0 });
  });

  it('hands out high before normal before low to actors waiting together', async () => {
    for (const p of ['low', 'normal', 'high'] as const) for (let i = 0; i < 3; i++) await ctx.pub.publish(workSubject('t.prio', p), te.encode(`${p}${i}`));
    const puller = new PriorityPuller(ctx.nc, 't.prio');
    const got: Taken[] = [];
    for (let i = 0; i < 9; i++) {
      const t = await puller.next(AbortSignal.timeout(3_000));
      expect(t).not.toBeNull();
      got.push(t!);
      t!.msg.ackNoWait();
    }
    puller.close();
    expect(got.map((t) => t.priority)).toEqual(['high', 'high', 'high', 'normal', 'normal', 'normal', 'low', 'low', 'low']);
  });

  it('keeps an item taken for an actor that left (retired mid-pull) for the next actor, without a redelivery', async () => {
    await ctx.pub.publish(workSubject('t.spare', 'normal'), te.encode('spare'));
    // One class, so the first pull is the one that carries the item.
    const puller = new PriorityPuller(ctx.nc, 't.spare', { priorities: ['normal'] });
    const leaving = new AbortController();
    const left = puller.next(leaving.signal);
    await new Promise((r) => setImmediate(r)); // the pump has sent its pull; the reply is not in yet
    leaving.abort();
    expect(await left).toBeNull();
    await new Promise((r) => setTimeout(r, 100)); // the reply arrives with nobody waiting
    expect(await pendingOf('t.spare', 'normal')).toEqual({ pending: 0, ackPending: 1 }); // delivered, held as a spare
    const t = await puller.next(AbortSignal.timeout(1_000));
    expect(t && td.decode(t.msg.data)).toBe('spare');
    expect(t!.msg.info.deliveryCount).toBe(1); // handed on, not nak'd and redelivered
    t!.msg.ackNoWait();
    puller.close();
  });

  it('gives a spare back when no actor comes for it', async () => {
    await ctx.pub.publish(workSubject('t.spare', 'normal'), te.encode('unclaimed'));
    const puller = new PriorityPuller(ctx.nc, 't.spare', { priorities: ['normal'] });
    const leaving = new AbortController();
    const left = puller.next(leaving.signal);
    await new Promise((r) => setImmediate(r));
    leaving.abort();
    await left;
    await new Promise((r) => setTimeout(r, 800)); // past the spare time: nak'd
    const again = new PriorityPuller(ctx.nc, 't.spare', { priorities: ['normal'] });
    const t = await again.next(AbortSignal.timeout(3_000));
    expect(t && td.decode(t.msg.data)).toBe('unclaimed');
    expect(t!.msg.info.deliveryCount).toBe(2);
    t!.msg.ackNoWait();
    again.close();
    puller.close();
  });

  it('measures how long each item waited in its queue (vpipe_work_queue_wait_seconds)', async () => {
    const waitOf = async () => (await metrics.workQueueWait.get()).values.filter((v) => v.labels.function === 't.wait' && v.labels.priority === 'high');
    await ctx.pub.publish(workSubject('t.wait', 'high'), te.encode('w'));
    await new Promise((r) => setTimeout(r, 300));
    const puller = new PriorityPuller(ctx.nc, 't.wait');
    const t = await puller.next(AbortSignal.timeout(3_000));
    t!.msg.ackNoWait();
    puller.close();
    const v = await waitOf();
    expect(v.find((x) => x.metricName === 'vpipe_work_queue_wait_seconds_count')?.value).toBe(1);
    const sum = v.find((x) => x.metricName === 'vpipe_work_queue_wait_seconds_sum')?.value ?? 0;
    expect(sum).toBeGreaterThanOrEqual(0.25);
    expect(sum).toBeLessThan(5);
  });

  it('wakes a waiting actor when work is published, and gives nothing to an actor that left', async () => {
    const puller = new PriorityPuller(ctx.nc, 't.leave');
    const leaving = new AbortController();
    const left = puller.next(leaving.signal);
    const staying = puller.next(AbortSignal.timeout(5_000));
    leaving.abort();
    expect(await left).toBeNull();
    expect(puller.waiting).toBe(1);
    const t0 = Date.now();
    await ctx.pub.publish(workSubject('t.leave', 'normal'), te.encode('wake'));
    const t = await staying;
    expect(t && td.decode(t.msg.data)).toBe('wake');
    expect(Date.now() - t0).toBeLessThan(900); // the wake-up bell, not the 1 s idle poll
    t!.msg.ackNoWait();
    puller.close();
    expect(await puller.next()).toBeNull(); // closed: no more work
    await expect.poll(() => pendingOf('t.leave', 'normal')).toEqual({ pending: 0, ackPending: 0 });
  });
});

describe('JetStreamPublisher direct gets', () => {
  it('reads the last value of a KV key, null for a missing or deleted one', async () => {
    await ctx.pub.publish(kvPutSubject(KV_CHUNKS, 'wq.get.1'), te.encode('first'));
    await ctx.pub.publish(kvPutSubject(KV_CHUNKS, 'wq.get.1'), te.encode('second'));
    const m = await ctx.pub.lastBySubject(kvStream(KV_CHUNKS), kvPutSubject(KV_CHUNKS, 'wq.get.1'));
    expect(m && td.decode(m.data)).toBe('second');
    expect(await ctx.pub.lastBySubject(kvStream(KV_CHUNKS), kvPutSubject(KV_CHUNKS, 'wq.get.missing'))).toBeNull();
    await ctx.topology.chunks.delete('wq.get.1');
    const deleted = await ctx.pub.lastBySubject(kvStream(KV_CHUNKS), kvPutSubject(KV_CHUNKS, 'wq.get.1'));
    expect(deleted?.headers?.get('KV-Operation')).toBe('DEL');
  });

  it('answers "no responders" for a stream without direct gets, so callers can fall back', async () => {
    const jsm = await jetstreamManager(nc);
    await jsm.streams.add({ name: 'NODIRECT', subjects: ['nodirect.>'], allow_direct: false });
    await ctx.pub.publish('nodirect.a', te.encode('x'));
    const e = await ctx.pub.lastBySubject('NODIRECT', 'nodirect.a').catch((err: unknown) => err);
    expect(isNoResponders(e)).toBe(true);
  });
});

describe('retention of job records and chunk results', () => {
  it('expires KV entries after the configured hours and applies a changed setting to existing buckets', async () => {
    const jsm = await jetstreamManager(nc);
    const maxAge = async (s: string) => (await jsm.streams.info(s)).config.max_age;
    const HOUR_NS = 3600 * 1e9;
    expect(await maxAge('KV_vpipe_jobs')).toBe(7 * 24 * HOUR_NS);
    expect(await maxAge('KV_vpipe_chunks')).toBe(7 * 24 * HOUR_NS);
    await ensureTopology(ctx.nc, ctx.jsm, [], { ...topologyFromEnv({}), jobRetentionHours: 24, chunkRetentionHours: 0 });
    expect(await maxAge('KV_vpipe_jobs')).toBe(24 * HOUR_NS);
    expect(await maxAge('KV_vpipe_chunks')).toBe(0); // 0: kept until deleted
    // The environment names the same settings.
    expect(topologyFromEnv({ VPIPE_JOB_RETENTION_HOURS: '48', VPIPE_CHUNK_RETENTION_HOURS: '12' })).toMatchObject({ jobRetentionHours: 48, chunkRetentionHours: 12 });
    // Entries written before survive the change.
    expect(await ctx.topology.chunks.get('wq.job.7')).not.toBeNull();
    // A short retention: the server removes an entry once it is older.
    await ensureTopology(ctx.nc, ctx.jsm, [], { ...topologyFromEnv({}), chunkRetentionHours: 2 / 3600 });
    await ctx.topology.chunks.put('wq.expiring', te.encode('x'));
    expect(await ctx.topology.chunks.get('wq.expiring')).not.toBeNull();
    await expect.poll(async () => (await ctx.topology.chunks.get('wq.expiring'))?.operation ?? 'gone', { timeout: 6_000, interval: 250 }).toBe('gone');
    await ensureTopology(ctx.nc, ctx.jsm, [], topologyFromEnv({}));
    expect(await maxAge('KV_vpipe_chunks')).toBe(7 * 24 * HOUR_NS);
  });
});
