/**
 * The consuming side of the control-plane benchmark, usable in this process
 * or in a child process (`tsx bench/control-plane-roles.ts <role> <json>`):
 *
 * - `raw`: a plain JetStream consumer (`consume`, ack each message) that
 *   records publish→consume latency and stops after `items` messages;
 * - `actors`: vpipe's encoder actors — a WorkWorker pool with a no-op encode
 *   (see ActorPath); it runs until stopped.
 *
 * A child prints one JSON line when ready and one with its results (its CPU
 * seconds and, for `raw`, the latencies) when done.
 */
import { jetstream } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import os from 'node:os';
import { chunkHandler } from '../actors/ves/chunk-worker.js';
import type { ChunkEncodeInput } from '../actors/ves/compute/encode-chunk.js';
import { chunkKey, type ChunkResult, type ChunkWorkItem } from '../actors/ves/messages.js';
import { createRuntimeContext, decodePayload, encodePayload, KV_CHUNKS, kvPutSubject, natsClientTuning, type RuntimeContext, topologyFromEnv } from '../runtime/nats/mod.js';
import { rootLogger } from '../runtime/core/mod.js';
import { WorkWorker, type WorkHandler } from '../runtime/workers/mod.js';
import { Recipe } from '../schemas/ves.js';

export const NOOP_FN = 'encode.noop';

export interface RawConsumer {
  /** Resolves with the latencies (ms) once `items` messages were consumed and acked. */
  done: Promise<number[]>;
  close(): Promise<void>;
}

/**
 * The raw baseline's consumer: one pull consumer, `consume` with a 1,000-message buffer, ack each.
 * A message is its publish time (float64) followed by a chunk work item's bytes, so the baseline moves as many bytes as vpipe does.
 */
export async function startRawConsumer(url: string, stream: string, consumer: string, items: number): Promise<RawConsumer> {
  // Same client settings as vpipe's own connections, so the baseline is as fast as the client allows.
  const nc: NatsConnection = await connect({ servers: url, ...natsClientTuning() });
  const c = await jetstream(nc).consumers.get(stream, consumer);
  const messages = await c.consume({ max_messages: 1000 });
  const done = (async () => {
    const lat: number[] = [];
    for await (const m of messages) {
      const t = new DataView(m.data.buffer, m.data.byteOffset, 8).getFloat64(0);
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

/** A raw baseline message: the publish time, then the same bytes as vpipe's work item. */
export function rawMessage(item: Uint8Array): Uint8Array {
  const m = new Uint8Array(8 + item.length);
  new DataView(m.buffer).setFloat64(0, performance.timeOrigin + performance.now());
  m.set(item, 8);
  return m;
}

const RECIPE = Recipe.parse({ codec: 'h264', rateControl: { mode: 'crf', value: 23 } });

/** A chunk work item as VES dispatches it (chunk `i` of a 720p h264 job), in its wire form. */
export function chunkItem(jobId: string, i: number, total: number, workDir = '/nonexistent'): Uint8Array {
  const item: ChunkWorkItem = {
    jobId,
    codec: 'h264',
    sourcePath: '/media/bench/source.mp4',
    chunk: { index: i, startFrame: i * 50, endFrame: (i + 1) * 50, seekSeconds: i * 2, startSeconds: i * 2, durationSeconds: 2 },
    total,
    spec: { recipe: RECIPE, frameRate: { num: 25, den: 1 }, width: 1280, height: 720, sourceWidth: 1280, sourceHeight: 720, threads: 2 },
    shape: 'medium',
    // The chunk actor skips items whose work directory is gone (their job ended): the full path needs a real one.
    outPath: `${workDir}/chunk-${i}.mkv`,
  };
  return encodePayload(item, 'msgpack');
}

/**
 * What the encoder actors run per item:
 * - `messaging`: the control plane alone — the item's msgpack decoded, its
 *   result written to the chunk KV bucket, ack; no per-item actor;
 * - `chunk-actor`: the real chunk handler — message validation, the
 *   idempotency read, one XState chunk actor per item, metrics — with the
 *   encode step a no-op.
 */
export type ActorPath = 'messaging' | 'chunk-actor';

export async function startNoopActors(url: string, actors: number, kind: ActorPath): Promise<Actors> {
  const ctx = await createRuntimeContext({ servers: url, name: 'bench-actors', mediaRoot: os.tmpdir(), log: rootLogger, workFunctions: [NOOP_FN], topology: { ...topologyFromEnv({}), ackWaitMs: 30_000 } });
  const noop = async (input: ChunkEncodeInput) => ({ frames: input.chunk.endFrame - input.chunk.startFrame, bytes: 0, encodeSeconds: 0, startSeconds: 0 });
  const messaging: WorkHandler = async (msg) => {
    const item = decodePayload(msg.data, 'msgpack') as ChunkWorkItem;
    const result: ChunkResult = { index: item.chunk.index, ok: true, path: item.outPath, frames: item.chunk.endFrame - item.chunk.startFrame, bytes: 0, worker: 'bench', delivery: msg.info.deliveryCount };
    await ctx.pub.publish(kvPutSubject(KV_CHUNKS, chunkKey(item.jobId, item.chunk.index)), encodePayload(result, 'msgpack'));
    return { ack: true };
  };
  const handler = kind === 'messaging' ? messaging : chunkHandler(ctx, 'bench', { encode: noop });
  const worker = new WorkWorker(ctx, NOOP_FN, handler, { concurrency: actors });
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
async function child(role: string, args: { url: string; items: number; stream?: string; consumer?: string; actors?: number; path?: ActorPath }) {
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
    const a = await startNoopActors(args.url, args.actors!, args.path!);
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
