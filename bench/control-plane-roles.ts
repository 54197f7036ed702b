/**
 * The consuming side of the control-plane benchmark, usable in this process
 * or in a child process (`tsx bench/control-plane-roles.ts <role> <json>`):
 *
 * - `raw`: a plain JetStream consumer (`consume`, ack each message) that
 *   records publish→consume latency and stops after `items` messages;
 * - `actors`: vpipe's encoder actors — a WorkWorker pool running a no-op
 *   encode whose result goes to the chunk KV bucket, as the real chunk
 *   handler's does; it runs until stopped.
 *
 * A child prints one JSON line when ready and one with its results (its CPU
 * seconds and, for `raw`, the latencies) when done.
 */
import { jetstream } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import os from 'node:os';
import { kvPutSubject } from '../runtime/js-publisher.js';
import { rootLogger } from '../runtime/logger.js';
import { createRuntimeContext, natsClientTuning, type RuntimeContext } from '../runtime/runtime-context.js';
import { KV_CHUNKS, topologyFromEnv } from '../runtime/topology.js';
import { WorkWorker } from '../runtime/work-worker.js';

export const NOOP_FN = 'encode.noop';
const te = new TextEncoder();
const td = new TextDecoder();

export interface RawConsumer {
  /** Resolves with the latencies (ms) once `items` messages were consumed and acked. */
  done: Promise<number[]>;
  close(): Promise<void>;
}

/** The raw baseline's consumer: one pull consumer, `consume` with a 1,000-message buffer, ack each. */
export async function startRawConsumer(url: string, stream: string, consumer: string, items: number): Promise<RawConsumer> {
  // Same client settings as vpipe's own connections, so the baseline is as fast as the client allows.
  const nc: NatsConnection = await connect({ servers: url, ...natsClientTuning() });
  const c = await jetstream(nc).consumers.get(stream, consumer);
  const messages = await c.consume({ max_messages: 1000 });
  const done = (async () => {
    const lat: number[] = [];
    for await (const m of messages) {
      const { t } = m.json<{ t: number }>();
      m.ack();
      lat.push(performance.timeOrigin + performance.now() - t);
      if (lat.length === items) break;
    }
    return lat;
  })();
  return { done, close: () => nc.drain() };
}

export interface Actors {
  ctx: RuntimeContext;
  close(): Promise<void>;
}

/** vpipe's encoder actors with a no-op encode: take a chunk item, record its result in KV (what the real chunk handler does after encoding), ack. */
export async function startNoopActors(url: string, jobId: string, actors: number): Promise<Actors> {
  const ctx = await createRuntimeContext({ servers: url, name: 'bench-actors', mediaRoot: os.tmpdir(), log: rootLogger, workFunctions: [NOOP_FN], topology: { ...topologyFromEnv({}), ackWaitMs: 30_000 } });
  const worker = new WorkWorker(
    ctx,
    NOOP_FN,
    async (msg) => {
      const { i, t } = JSON.parse(td.decode(msg.data)) as { i: number; t: number };
      await ctx.pub.publish(kvPutSubject(KV_CHUNKS, `${jobId}.${i}`), te.encode(String(t)));
      return { ack: true };
    },
    { concurrency: actors },
  );
  worker.start();
  return {
    ctx,
    async close() {
      await worker.stop(1_000);
      ctx.pub.close();
      await ctx.nc.drain();
    },
  };
}

function cpuSecondsUsed(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
}

/** Child-process entry: `<role> <json args>`. */
async function child(role: string, args: { url: string; items: number; stream?: string; consumer?: string; jobId?: string; actors?: number }) {
  rootLogger.level = 'warn';
  // Exiting right after a write to a pipe would cut a long line short: wait until it is flushed.
  const say = (o: object) => new Promise<void>((resolve) => process.stdout.write(`${JSON.stringify(o)}\n`, () => resolve()));
  if (role === 'raw') {
    const c = await startRawConsumer(args.url, args.stream!, args.consumer!, args.items);
    await say({ ready: true, cpu: cpuSecondsUsed() });
    const lat = await c.done;
    await c.close();
    await say({ cpu: cpuSecondsUsed(), lat });
  } else if (role === 'actors') {
    const a = await startNoopActors(args.url, args.jobId!, args.actors!);
    await say({ ready: true, cpu: cpuSecondsUsed() });
    await new Promise<void>((resolve) => process.once('SIGTERM', () => resolve()));
    await a.close();
    await say({ cpu: cpuSecondsUsed() });
  } else throw new Error(`unknown role ${role}`);
}

if (process.argv[1]?.endsWith('control-plane-roles.ts') && process.argv[2]) {
  child(process.argv[2], JSON.parse(process.argv[3] ?? '{}')).then(
    () => process.exit(0),
    (e: unknown) => {
      process.stderr.write(`${e instanceof Error ? e.stack : String(e)}\n`);
      process.exit(1);
    },
  );
}
