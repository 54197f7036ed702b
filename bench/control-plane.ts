/**
 * Control-plane throughput: VES chunk work items through dispatch (JetStream
 * publish with Nats-Msg-Id) → encoder actors with a no-op encode → chunk
 * result in KV → ack → reduce (KV watch, results decoded and validated),
 * next to a raw JetStream publish → consume → ack baseline of messages of
 * the same size, measured in the same run. Two things run per item on the actor side:
 * - the messaging path: the item decoded, its result written, ack — the
 *   control plane alone (`--actors`, a sweep);
 * - the full chunk actor: the real chunk handler — validation, idempotency
 *   read, an XState actor per chunk, metrics — with the encode a no-op
 *   (`--chunk-actors`).
 *
 * Two layouts, each compared with a baseline of the same layout:
 * - `one`: everything in this process (vpipe's embedded default);
 * - `split`: the consumers in a second process — for vpipe the encoder
 *   actors (the `encoder` role), for the baseline its consumer — as a
 *   production node runs roles apart.
 * Each configuration runs `--repeats` times, each run right after a baseline
 * run of its own; the table shows the run with the median throughput, the
 * median of the paired ratios, and CPU seconds of the client processes and
 * of nats-server, so it says where the time went.
 *
 *   npm run bench:control -- [--items 20000] [--actors 16,64,256] [--chunk-actors 64] [--repeats 3] [--layouts one,split]
 */
import { AckPolicy, jetstream, jetstreamManager, RetentionPolicy, StorageType } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { rootLogger } from '../runtime/core/mod.js';
import { createRuntimeContext, decodeInternal, natsClientTuning, type NatsServerHandle, startNatsServer, topologyFromEnv, workSubject } from '../runtime/nats/mod.js';
import { ChunkResult } from '../actors/ves/messages.js';
import { chunkItem, rawMessage, NOOP_FN, startNoopActors, startRawConsumer, type ActorPath } from './control-plane-roles.js';
import { cpuSeconds, runMain, processCpuSeconds, table, writeResult } from './lib.js';

const { values } = parseArgs({
  options: {
    items: { type: 'string', default: '20000' },
    actors: { type: 'string', default: '16,64,256' },
    'chunk-actors': { type: 'string', default: '64' },
    repeats: { type: 'string', default: '3' },
    layouts: { type: 'string', default: 'one,split' },
    batch: { type: 'string', default: '256' },
  },
});
const N = Number(values.items);
const BATCH = Number(values.batch);
const ACTORS = values.actors.split(',').map(Number);
const CHUNK_ACTORS = Number(values['chunk-actors']);
const REPEATS = Number(values.repeats);
const LAYOUTS = values.layouts.split(',') as Layout[];
type Layout = 'one' | 'split';
rootLogger.level = 'warn';
const ROLES = fileURLToPath(new URL('./control-plane-roles.ts', import.meta.url));

interface Row {
  path: string;
  layout: Layout;
  actors: number | null;
  items: number;
  seconds: number;
  perSecond: number;
  p50ms: number;
  p99ms: number;
  clientCpu: number;
  serverCpu: number;
}

function pct(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

/** Publishes N messages in concurrent batches of BATCH. */
async function publishAll(publish: (i: number) => Promise<unknown>): Promise<void> {
  for (let i = 0; i < N; i += BATCH) {
    const batch: Promise<unknown>[] = [];
    for (let j = i; j < Math.min(N, i + BATCH); j++) batch.push(publish(j));
    await Promise.all(batch);
  }
}

/** A role in a child process: resolves once it is ready; `finish` stops it (SIGTERM unless it ends by itself) and returns its report. */
async function spawnRole(role: 'raw' | 'actors', args: object): Promise<{ finish(stop: boolean): Promise<{ cpu: number; lat?: number[] }> }> {
  const child = spawn(process.execPath, [...process.execArgv, ROLES, role, JSON.stringify(args)], { stdio: ['ignore', 'pipe', 'inherit'] });
  const lines = readline.createInterface({ input: child.stdout });
  const it = lines[Symbol.asyncIterator]();
  const next = async () => {
    const r = await it.next();
    if (r.done) throw new Error(`bench ${role} process ended early (exit ${child.exitCode})`);
    return JSON.parse(r.value) as { ready?: boolean; cpu: number; lat?: number[] };
  };
  const ready = await next();
  return {
    async finish(stop) {
      if (stop) child.kill('SIGTERM');
      const report = await next();
      await new Promise((r) => (child.exitCode !== null ? r(null) : child.once('exit', r)));
      return { ...report, cpu: report.cpu - ready.cpu };
    },
  };
}

async function rawRun(server: NatsServerHandle, layout: Layout, k: number): Promise<Row> {
  const nc = await connect({ servers: server.url, ...natsClientTuning() });
  const jsm = await jetstreamManager(nc);
  const js = jetstream(nc);
  const stream = `RAW_${k}`;
  await jsm.streams.add({ name: stream, subjects: [`raw${k}.>`], retention: RetentionPolicy.Workqueue, storage: StorageType.File });
  await jsm.consumers.add(stream, { durable_name: 'raw', ack_policy: AckPolicy.Explicit });
  const inProcess = layout === 'one' ? await startRawConsumer(server.url, stream, 'raw', N) : null;
  const child = layout === 'split' ? await spawnRole('raw', { url: server.url, items: N, stream, consumer: 'raw' }) : null;
  const c0 = cpuSeconds();
  const s0 = processCpuSeconds(server.pid()!);
  const t0 = performance.now();
  // Each message carries its publish time (the consumer may be another process) and a work item's bytes.
  await publishAll((i) => js.publish(`raw${k}.x`, rawMessage(chunkItem(`raw${k}`, i, N))));
  const report = inProcess ? { lat: await inProcess.done, cpu: 0 } : await child!.finish(false);
  const seconds = (performance.now() - t0) / 1000;
  const clientCpu = cpuSeconds() - c0 + report.cpu;
  const serverCpu = processCpuSeconds(server.pid()!) - s0;
  await inProcess?.close();
  const lat = report.lat!.sort((a, b) => a - b);
  await jsm.streams.delete(stream);
  await nc.drain();
  return { path: 'raw JetStream publish → consume → ack', layout, actors: null, items: N, seconds, perSecond: N / seconds, p50ms: pct(lat, 50), p99ms: pct(lat, 99), clientCpu, serverCpu };
}

async function vpipeRun(server: NatsServerHandle, layout: Layout, actors: number, kind: ActorPath, k: number): Promise<Row> {
  // This process is the workflow side: it dispatches chunk items and reduces their results.
  const ctx = await createRuntimeContext({ servers: server.url, name: 'bench-workflow', mediaRoot: os.tmpdir(), log: rootLogger, workFunctions: [NOOP_FN], topology: { ...topologyFromEnv({}), ackWaitMs: 30_000 } });
  const jobId = `benchjob${k}`;
  const workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'vpipe-bench-cp-work-'));
  const watch = await ctx.topology.chunks.watch({ key: `${jobId}.>` });
  const inProcess = layout === 'one' ? await startNoopActors(server.url, actors, kind) : null;
  const child = layout === 'split' ? await spawnRole('actors', { url: server.url, items: N, actors, path: kind }) : null;
  const lat: number[] = [];
  const sentAt = new Float64Array(N);
  const c0 = cpuSeconds();
  const s0 = processCpuSeconds(server.pid()!);
  const t0 = performance.now();
  const reduced = (async () => {
    for await (const e of watch) {
      if (e.operation !== 'PUT') continue;
      // The reduce reads each result as VES's does.
      const r = decodeInternal(ChunkResult, e.value);
      if (!r.ok) throw new Error(`chunk ${r.index} failed: ${r.error?.message}`);
      lat.push(performance.now() - sentAt[r.index]!);
      if (lat.length === N) break;
    }
  })();
  await publishAll((i) => {
    sentAt[i] = performance.now();
    return ctx.pub.publish(workSubject(NOOP_FN, 'normal'), chunkItem(jobId, i, N, workDir), { msgID: `${jobId}.${i}` });
  });
  await reduced;
  const seconds = (performance.now() - t0) / 1000;
  const own = cpuSeconds() - c0;
  const serverCpu = processCpuSeconds(server.pid()!) - s0;
  const childCpu = child ? (await child.finish(true)).cpu : 0;
  watch.stop();
  await inProcess?.close();
  ctx.pub.close();
  await ctx.nc.drain();
  fs.rmSync(workDir, { recursive: true, force: true });
  lat.sort((a, b) => a - b);
  return { path: kind === 'messaging' ? `vpipe messaging path, ${actors} actors` : `vpipe full chunk actor, ${actors} actors`, layout, actors, items: N, seconds, perSecond: N / seconds, p50ms: pct(lat, 50), p99ms: pct(lat, 99), clientCpu: own + childCpu, serverCpu };
}

function median(rows: Row[]): Row {
  return [...rows].sort((a, b) => a.perSecond - b.perSecond)[Math.floor(rows.length / 2)]!;
}

function medianOf(xs: number[]): number {
  return [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
}

async function main() {
  const server = await startNatsServer({ dataDir: fs.mkdtempSync(path.join(os.tmpdir(), 'vpipe-bench-cp-')), logFile: '/dev/null' });
  const runs = new Map<string, (Row & { vsRaw: number })[]>();
  const add = (r: Row, vsRaw: number) => runs.set(`${r.layout}|${r.path}`, [...(runs.get(`${r.layout}|${r.path}`) ?? []), { ...r, vsRaw }]);
  let k = 0;
  try {
    for (let rep = 0; rep < REPEATS; rep++) {
      for (const layout of LAYOUTS) {
        // Each vpipe run is paired with a baseline run just before it: this VM's speed drifts by up to 2×
        // within a minute, so a ratio is only fair between neighbours.
        const configs: [number, ActorPath][] = [...ACTORS.map((a): [number, ActorPath] => [a, 'messaging']), [CHUNK_ACTORS, 'chunk-actor']];
        for (const [a, kind] of configs) {
          const raw = await rawRun(server, layout, ++k);
          add(raw, 1);
          const v = await vpipeRun(server, layout, a, kind, ++k);
          add(v, v.perSecond / raw.perSecond);
        }
        process.stderr.write('.');
      }
    }
  } finally {
    await server.stop();
  }
  const rows = [...runs.values()].map((rs) => ({ ...median(rs), vsRaw: medianOf(rs.map((r) => r.vsRaw)), vsRawRange: [Math.min(...rs.map((r) => r.vsRaw)), Math.max(...rs.map((r) => r.vsRaw))] }));
  const header = ['layout', 'path', 'items/s', 'p50 ms', 'p99 ms', 'client CPU s', 'server CPU s', '× raw (paired)', 'range'];
  process.stdout.write(`\n\nControl plane — ${N} items per run, ${REPEATS} runs each (median shown), ${os.availableParallelism()} cores, nats-server on the same machine\n`);
  process.stdout.write('× raw: median over runs of vpipe ÷ the baseline run just before it (same layout)\n\n');
  const fmt = (r: (typeof rows)[number]) => (r.actors === null ? '' : `${r.vsRawRange[0]!.toFixed(2)}–${r.vsRawRange[1]!.toFixed(2)}`);
  process.stdout.write(`${table(header, rows.map((r) => [r.layout, r.path, r.perSecond, r.p50ms, r.p99ms, r.clientCpu, r.serverCpu, r.vsRaw, fmt(r)]))}\n`);
  const file = writeResult('control-plane', { items: N, repeats: REPEATS, medians: rows, runs: [...runs.values()].flat() });
  process.stdout.write(`\nwritten ${path.relative(process.cwd(), file)}\n`);
}

runMain(main);
