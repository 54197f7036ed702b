/**
 * The encoder actors' work handler: takes chunk work items from
 * `vpipe.work.encode.<codec>.<priority>`, runs one chunk actor per item and
 * records the result in the `vpipe_chunks` KV bucket. Redelivery is
 * idempotent: a chunk already recorded as done is acked without encoding.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { fromPromise } from 'xstate';
import { encoderFor } from '../../encoders/index.js';
import { isCrash, type Logger, metrics, RetryPolicies } from '../../runtime/core/mod.js';
import { decodeInternal, encodePayload, isNoResponders, KV_CHUNKS, kvPutSubject, kvStream, type RuntimeContext, withJsRetry } from '../../runtime/nats/mod.js';
import { runToCompletion } from '../../runtime/jobs/mod.js';
import { decodeItem, type Settlement, type WorkHandler } from '../../runtime/workers/mod.js';
import { shapeFor } from '../../encoders/shapes.js';
import { chunkClock, chunkMachine, type ChunkRecord } from './chunk-machine.js';
import { encodeChunk, type ChunkEncodeInput, type ChunkEncodeOutput } from './compute/encode-chunk.js';
import { ChunkResult, ChunkWorkItem, chunkKey } from './messages.js';

/**
 * A chunk's recorded result, or null. Read with a direct get through the
 * pipelined requester (the KV API's get costs a full request per call); a
 * bucket that does not allow direct gets is read through the KV API instead.
 */
export async function readChunkResult(ctx: RuntimeContext, key: string): Promise<ChunkResult | null> {
  const value = await withJsRetry(async () => {
    try {
      const m = await ctx.pub.lastBySubject(kvStream(KV_CHUNKS), kvPutSubject(KV_CHUNKS, key));
      const op = m?.headers?.get('KV-Operation');
      return !m || op === 'DEL' || op === 'PURGE' ? null : m.data;
    } catch (e) {
      if (!isNoResponders(e)) throw e;
      const entry = await ctx.topology.chunks.get(key);
      return entry && entry.operation === 'PUT' ? entry.value : null;
    }
  });
  return value?.length ? decodeInternal(ChunkResult, value) : null;
}

async function isDirectory(p: string): Promise<boolean> {
  return fs.stat(p).then(
    (s) => s.isDirectory(),
    () => false,
  );
}

/** Work directories seen to exist in the last second: a stat per chunk showed up in bench:control (thread-pool work for every item). */
const liveDirs = new Map<string, number>();
const LIVE_DIR_TTL_MS = 1_000;

/** Whether a job's work directory still exists; a positive answer is reused for a second, a negative one never. */
async function workDirExists(dir: string): Promise<boolean> {
  const now = Date.now();
  if ((liveDirs.get(dir) ?? 0) > now) return true;
  const ok = await isDirectory(dir);
  if (liveDirs.size > 1_000) liveDirs.clear();
  if (ok) liveDirs.set(dir, now + LIVE_DIR_TTL_MS);
  else liveDirs.delete(dir);
  return ok;
}

function jobEnded(item: ChunkWorkItem, log: Logger): Settlement {
  metrics.chunks.inc({ codec: item.codec, outcome: 'skipped' });
  log.info('the job has ended (its work directory is gone); chunk acked without encoding');
  return { ack: true };
}

export interface ChunkHandlerOptions {
  /** The encode step (default: ffmpeg through the item's encoder module); the control-plane benchmark puts a no-op here. */
  encode?: (input: ChunkEncodeInput) => Promise<ChunkEncodeOutput>;
}

/**
 * Builds the handler for one node's encoder actors. Each item reserves the shape of its own encode
 * (codec × output size) on the node, and its encoder runs with exactly the CPUs it was granted as threads.
 */
export function chunkHandler(ctx: RuntimeContext, workerId: string, opts: ChunkHandlerOptions = {}): WorkHandler {
  const retry = RetryPolicies.chunk.with({ maximumAttempts: ctx.topology.options.maxDeliver });
  // The item's progress reporter, by item (machine context stays plain data): its ffmpeg's -progress lines keep it heartbeated.
  const progressOf = new WeakMap<ChunkWorkItem, () => void>();
  const encode = opts.encode ?? ((input: ChunkEncodeInput) => encodeChunk(encoderFor(input.spec.recipe.codec), input));
  // Through the pipelined publisher: the same KV put, without a request's per-call overhead.
  const put = (r: ChunkRecord) =>
    withJsRetry(() => ctx.pub.publish(kvPutSubject(KV_CHUNKS, chunkKey(r.jobId, r.result.index)), encodePayload({ ...r.result, worker: workerId, delivery: r.delivery }, 'msgpack')));
  // The machine is provided once; each item runs its own actor of it.
  const machine = chunkMachine.provide({
    actions: chunkClock(Date.now),
    actors: {
      encode: fromPromise(({ input, signal }) =>
        encode({ sourcePath: input.sourcePath, chunk: input.chunk, source: input.source, spec: input.spec, outPath: input.outPath, signal, onProgress: progressOf.get(input) }),
      ),
      record: fromPromise(({ input }) => put(input).then(() => undefined)),
    },
  });
  /** Runs one item's chunk actor with its shape held; settles by the outcome. */
  const encodeReserved = async (item: ChunkWorkItem, delivery: number, log: Logger, signal: AbortSignal): Promise<Settlement> => {
    const startedAt = Date.now();
    log.info({ frames: item.chunk.endFrame - item.chunk.startFrame, delivery, threads: item.spec.threads }, 'chunk encode started');
    const out = await runToCompletion(machine, { item, startedAt, delivery }, signal).catch(() => null);
    if (!out) return { nakDelayMs: 0 }; // interrupted by shutdown: give it back at once
    if (!out.ok && !(await isDirectory(path.dirname(item.outPath)))) return jobEnded(item, log); // the job ended while this chunk ran (no cached answer here)
    if (out.ok) {
      const seconds = (Date.now() - startedAt) / 1000;
      metrics.chunks.inc({ codec: item.codec, outcome: 'ok' });
      metrics.chunkEncodeSeconds.observe({ codec: item.codec, shape: item.shape }, seconds);
      if (seconds > 0) metrics.encodeSpeed.observe({ codec: item.codec }, item.chunk.durationSeconds / seconds);
      log.info({ seconds, bytes: out.result.bytes }, 'chunk encoded');
      return { ack: true };
    }
    if (retry.shouldRetry(out.error, delivery)) {
      metrics.chunks.inc({ codec: item.codec, outcome: 'retry' });
      log.warn({ error: out.error }, 'chunk failed; retrying later');
      // The tool dying or running out of memory is an actor crash (restart intensity counts it); a tool that
      // ran out of time or went silent is work that may succeed elsewhere, and must not escalate the pool.
      return { nakDelayMs: retry.delayMs(delivery), crashed: isCrash(out.error) };
    }
    metrics.chunks.inc({ codec: item.codec, outcome: 'failed' });
    log.error({ error: out.error }, 'chunk failed for good');
    await put({ jobId: item.jobId, delivery, result: { index: item.chunk.index, ok: false, error: out.error, startedAt, finishedAt: Date.now() } });
    return { term: out.error.message.slice(0, 200) };
  };
  return async (msg, wc) => {
    const decoded = decodeItem(ChunkWorkItem, msg, wc.log, 'chunk work item');
    if (!decoded.ok) return decoded.settlement;
    const item = decoded.item;
    const key = chunkKey(item.jobId, item.chunk.index);
    const log = wc.log.child({ jobId: item.jobId, chunk: item.chunk.index, priority: wc.priority });
    const existing = await readChunkResult(ctx, key);
    if (existing?.ok) {
      metrics.chunks.inc({ codec: item.codec, outcome: 'skipped' });
      log.info('chunk already encoded; acked without encoding');
      return { ack: true };
    }
    // A failed or cancelled job's work directory is removed: its queued chunks are moot.
    if (!(await workDirExists(path.dirname(item.outPath)))) return jobEnded(item, log);
    const delivery = msg.info.deliveryCount;
    const reservation = await wc.reserve(shapeFor(item.codec, item.spec.width, item.spec.height)).catch(() => null);
    if (!reservation) return { nakDelayMs: 0 }; // interrupted by shutdown while waiting for room: give it back at once
    try {
      // The encoder gets exactly the CPUs its shape was granted.
      const granted: ChunkWorkItem = { ...item, spec: { ...item.spec, threads: Math.max(1, reservation.shape.cpus) } };
      progressOf.set(granted, wc.progress);
      return await encodeReserved(granted, delivery, log, wc.signal);
    } finally {
      reservation.release();
    }
  };
}
