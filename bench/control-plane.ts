/**
 * Control-plane throughput: chunk work items through dispatch (JetStream
 * publish with Nats-Msg-Id) → encoder actors running a no-op encode → ack →
 * chunk result in KV → reduce (KV watch), next to a raw JetStream
 * publish/consume/ack baseline measured in the same run.
 *
 *   npm run bench:control -- [--items 20000] [--actors 8]
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { AckPolicy, jetstream, jetstreamManager, RetentionPolicy, StorageType } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { rootLogger } from '../runtime/logger.js';
import { startNatsServer } from '../runtime/nats-server.js';
import { createRuntimeContext, natsClientTuning } from '../runtime/runtime-context.js';
import { topologyFromEnv, workSubject } from '../runtime/topology.js';
import { WorkWorker } from '../runtime/work-worker.js';
import { table, writeResult } from './lib.js';

const { values } = parseArgs({ options: { items: { type: 'string', default: '20000' }, actors: { type: 'string', default: '8' }, batch: { type: 'string', default: '256' } } });
const N = Number(values.items);
const BATCH = Number(values.batch);
rootLogger.level = 'warn';
const te = new TextEncoder();

function pct(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

/** Publishes N messages in concurrent batches; each carries its publish time. */
async function publishAll(publish: (i: number, data: Uint8Array) => Promise<unknown>): Promise<void> {
  for (let i = 0; i < N; i += BATCH) {
    const batch: Promise<unknown>[] = [];
    for (let j = i; j < Math.min(N, i + BATCH); j++) batch.push(publish(j, te.encode(JSON.stringify({ i: j, t: performance.timeOrigin + performance.now() }))));
    await Promise.all(batch);
  }
}

async function main() {
  const server = await startNatsServer({ dataDir: fs.mkdtempSync(path.join(os.tmpdir(), 'vpipe-bench-cp-')), logFile: '/dev/null' });
  const rows: Record<string, number | string>[] = [];
  try {
    // Raw baseline: one work-queue stream, one pull consumer, consume + ack.
    {
      // Same client settings as vpipe's own connections, so the baseline is as fast as the client allows.
      const nc = await connect({ servers: server.url, ...natsClientTuning() });
      const jsm = await jetstreamManager(nc);
      const js = jetstream(nc);
      await jsm.streams.add({ name: 'RAW', subjects: ['raw.>'], retention: RetentionPolicy.Workqueue, storage: StorageType.File });
      await jsm.consumers.add('RAW', { durable_name: 'raw', ack_policy: AckPolicy.Explicit });
      const lat: number[] = [];
      const t0 = performance.now();
      const consumer = await js.consumers.get('RAW', 'raw');
      const messages = await consumer.consume({ max_messages: 1000 });
      const done = (async () => {
        for await (const m of messages) {
          const { t } = m.json<{ t: number }>();
          m.ack();
          lat.push(performance.timeOrigin + performance.now() - t);
          if (lat.length === N) break;
        }
      })();
      await publishAll((_, d) => js.publish('raw.x', d));
      await done;
      const secs = (performance.now() - t0) / 1000;
      lat.sort((a, b) => a - b);
      rows.push({ path: 'raw JetStream publish → consume → ack', items: N, seconds: secs, perSecond: N / secs, p50ms: pct(lat, 50), p99ms: pct(lat, 99) });
      await nc.drain();
    }
    // vpipe: dispatch → actors (no-op encode) → ack → KV chunk result → reduce by KV watch.
    {
      const ctx = await createRuntimeContext({ servers: server.url, name: 'bench', mediaRoot: os.tmpdir(), log: rootLogger, workFunctions: ['encode.noop'], topology: { ...topologyFromEnv({}), ackWaitMs: 30_000 } });
      const jobId = 'benchjob';
      const worker = new WorkWorker(ctx, 'encode.noop', async (msg) => {
        const { i, t } = JSON.parse(new TextDecoder().decode(msg.data)) as { i: number; t: number };
        await ctx.topology.chunks.put(`${jobId}.${i}`, te.encode(String(t)));
        return { ack: true };
      }, { concurrency: Number(values.actors) });
      const lat: number[] = [];
      const watch = await ctx.topology.chunks.watch({ key: `${jobId}.>` });
      const t0 = performance.now();
      const reduced = (async () => {
        for await (const e of watch) {
          if (e.operation !== 'PUT') continue;
          lat.push(performance.timeOrigin + performance.now() - Number(new TextDecoder().decode(e.value)));
          if (lat.length === N) break;
        }
      })();
      const cpu0 = process.cpuUsage();
      worker.start();
      await publishAll((i, d) => ctx.js.publish(workSubject('encode.noop', 'normal'), d, { msgID: `${jobId}.${i}` }));
      await reduced;
      const secs = (performance.now() - t0) / 1000;
      const cpu = process.cpuUsage(cpu0);
      process.stderr.write(`vpipe path: this process used ${((cpu.user + cpu.system) / 1e6).toFixed(2)} CPU s in ${secs.toFixed(2)} s\n`);
      watch.stop();
      await worker.stop(1_000);
      lat.sort((a, b) => a - b);
      rows.push({ path: `vpipe chunk jobs (${values.actors} actors, no-op encode, KV reduce)`, items: N, seconds: secs, perSecond: N / secs, p50ms: pct(lat, 50), p99ms: pct(lat, 99) });
      await ctx.nc.drain();
    }
  } finally {
    await server.stop();
  }
  const raw = rows[0]!.perSecond as number;
  process.stdout.write(`\nControl plane — ${N} items, ${os.availableParallelism()} cores (nats-server on the same machine)\n\n`);
  process.stdout.write(`${table(['path', 'items', 'seconds', 'items/s', 'p50 ms', 'p99 ms', '× raw'], rows.map((r) => [r.path as string, r.items as number, r.seconds as number, r.perSecond as number, r.p50ms as number, r.p99ms as number, (r.perSecond as number) / raw]))}\n`);
  const file = writeResult('control-plane', { items: N, actors: Number(values.actors), rows });
  process.stdout.write(`\nwritten ${path.relative(process.cwd(), file)}\n`);
}

main().then(() => process.exit(0), (e: unknown) => {
  process.stderr.write(`${e instanceof Error ? e.stack : String(e)}\n`);
  process.exit(1);
});
