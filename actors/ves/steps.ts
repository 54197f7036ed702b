/**
 * The VES machine's steps, provided with the world: ffprobe/ffmpeg, NATS
 * (work items out, chunk results in through a KV watch) and VVS over NATS.
 * Every step is idempotent, because a resumed job re-runs the step that was
 * in flight: dispatch skips recorded chunks, the reduce re-reads the bucket.
 */
import fs from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import path from 'node:path';
import { gopFrames } from '../../encoders/common.js';
import { encoderFor } from '../../encoders/index.js';
import { shapeFor } from '../../encoders/shapes.js';
import { VpipeClient } from '../../runtime/client.js';
import { ErrorCodes, VpipeError } from '../../runtime/errors.js';
import { isStreamFull, withJsRetry } from '../../runtime/js-retry.js';
import type { RuntimeContext } from '../../runtime/runtime-context.js';
import type { StepDeps } from '../../runtime/service-definition.js';
import { KV_CHUNKS, workSubject } from '../../runtime/topology.js';
import { kvPutSubject, kvStream } from '../../runtime/js-publisher.js';
import { decodeInternal, encodePayload } from '../../runtime/wire.js';
import type { Expectations, ValidateResult } from '../../schemas/vvs.js';
import { detectSceneCuts, readSourceFrames } from './compute/source-frames.js';
import { planChunks } from './compute/splitter.js';
import { assemble } from './compute/assemble.js';
import { readChunkResult } from './chunk-worker.js';
import { ChunkResult, chunkKey, encodeFunction, type ChunkWorkItem } from './messages.js';
import type { Encoded, Plan, VesJobInput } from './workflow.js';

/** Where a job's chunks are written: next to its output, so the assembler's inputs and output share a file system. */
export function workDirFor(outputPath: string, jobId: string): string {
  return path.join(path.dirname(outputPath), `.vpipe-${jobId}`);
}

export function chunkPath(workDir: string, index: number): string {
  return path.join(workDir, `chunk_${String(index).padStart(5, '0')}.mkv`);
}

export async function plan(job: VesJobInput, deps: StepDeps, signal: AbortSignal): Promise<Plan> {
  const src = await readSourceFrames(job.sourcePath, signal);
  const chunking = job.recipe.chunking;
  const cuts = chunking?.alignToSceneCuts && chunking.enabled !== false ? await detectSceneCuts(job.sourcePath, src.frameTimes, signal) : [];
  const chunks = planChunks({ frameTimes: src.frameTimes, endSeconds: src.endSeconds, chunking, sceneCuts: cuts, sourceKeyframes: src.keyframes });
  const width = job.recipe.resolution?.width ?? src.width;
  const height = job.recipe.resolution?.height ?? src.height;
  const spec = { recipe: job.recipe, frameRate: src.frameRate, width, height, sourceWidth: src.width, sourceHeight: src.height, threads: 1 };
  const shape = shapeFor(job.recipe.codec, width, height);
  const encoder = encoderFor(job.recipe.codec);
  const probe = await encoder.probe();
  if (!probe.available) throw new VpipeError(ErrorCodes.ToolMissing, `${encoder.encoder} is not available: ${probe.reason ?? 'not in this ffmpeg build'}`);
  const workDir = workDirFor(job.outputPath, deps.jobId);
  await fs.mkdir(workDir, { recursive: true });
  deps.log.info({ chunks: chunks.length, frames: src.frameTimes.length, sceneCuts: cuts.length, shape: shape.name }, 'chunks planned');
  return {
    source: {
      codec: src.codec,
      width: src.width,
      height: src.height,
      frameRate: src.frameRate,
      frames: src.frameTimes.length,
      durationSeconds: src.endSeconds - src.frameTimes[0]!,
      hasAudio: src.hasAudio,
    },
    output: { width, height, gopFrames: gopFrames(spec), pixelFormat: encoder.pixelFormatFor(job.recipe) },
    chunks,
    shape: shape.name,
    threads: shape.cpus,
    workDir,
    encoder: { name: encoder.encoder, version: probe.version },
  };
}

/** Chunk items in flight at once while dispatching: thousands of chunks queue in a few round trips, in index order. */
const DISPATCH_WINDOW = 32;

/** Publishes one work item per chunk not yet recorded (Nats-Msg-Id `<jobId>.<index>` dedupes a quick re-run). */
export async function dispatch(job: VesJobInput, p: Plan, deps: StepDeps, signal?: AbortSignal): Promise<void> {
  const subject = workSubject(encodeFunction(job.recipe.codec), job.priority);
  let waitedFull = false;
  let failed = false;
  const one = async (chunk: Plan['chunks'][number]) => {
    if ((await readChunkResult(deps.runtime, chunkKey(deps.jobId, chunk.index)))?.ok) return;
    const item: ChunkWorkItem = {
      jobId: deps.jobId,
      codec: job.recipe.codec,
      sourcePath: job.sourcePath,
      chunk,
      total: p.chunks.length,
      spec: { recipe: job.recipe, frameRate: p.source.frameRate, width: p.output.width, height: p.output.height, sourceWidth: p.source.width, sourceHeight: p.source.height, threads: p.threads },
      shape: p.shape,
      outPath: chunkPath(p.workDir, chunk.index),
    };
    // A full work queue (VPIPE_MAX_QUEUED_WORK) is backpressure: wait for room, as long as the job runs
    // (the job runner keeps its work item alive meanwhile), then queue the chunk.
    for (let waitMs = 250; !failed; waitMs = Math.min(waitMs * 2, 5_000)) {
      try {
        await withJsRetry(() => deps.runtime.pub.publish(subject, encodePayload(item, 'msgpack'), { msgID: `${deps.jobId}.${chunk.index}` }));
        return;
      } catch (e) {
        if (!isStreamFull(e)) throw e;
        if (!waitedFull) deps.log.warn({ chunk: chunk.index }, 'the work queue is full; waiting for room to queue the remaining chunks');
        waitedFull = true;
        await sleep(waitMs, undefined, { signal }); // rejects (AbortError) when the job is stopped
      }
    }
  };
  // A window of dispatchers takes chunks in index order; the first error stops them all.
  let next = 0;
  const lane = async () => {
    while (!failed && next < p.chunks.length) {
      const chunk = p.chunks[next++]!;
      await one(chunk).catch((e: unknown) => {
        failed = true;
        throw e;
      });
    }
  };
  await Promise.all(Array.from({ length: Math.min(DISPATCH_WINDOW, p.chunks.length) }, lane));
}

/** How long the reduce's KV watch may stay silent before it is re-created (it replays the current results). */
const WATCH_RENEW_MS = 15_000;

/**
 * The reduce: resolves when every chunk has a result; throws (not retryable)
 * at the first failed chunk. The KV watch is re-created after a reconnect
 * and after a silence, since a watch can stall across a server restart;
 * a new watch replays every result, so counting is by chunk index.
 */
export async function awaitChunks(job: VesJobInput, p: Plan, deps: StepDeps, signal: AbortSignal): Promise<Encoded> {
  const kv = deps.runtime.topology.chunks;
  const total = p.chunks.length;
  const results = new Map<number, ChunkResult>();
  const hook: { renew: (() => void) | null } = { renew: null };
  // nats.js's status iterator can be stopped (its type does not say so).
  const statuses = deps.runtime.nc.status() as AsyncIterable<{ type: string }> & { stop?: () => void };
  void (async () => {
    for await (const st of statuses) if (st.type === 'reconnect') hook.renew?.();
  })();
  try {
    while (results.size < total) {
      if (signal.aborted) throw new VpipeError(ErrorCodes.Cancelled, 'stopped while waiting for chunks');
      const watch = await withJsRetry(() => kv.watch({ key: `${deps.jobId}.>` }));
      let timer = setTimeout(() => watch.stop(), WATCH_RENEW_MS);
      hook.renew = () => watch.stop();
      const onAbort = () => watch.stop();
      signal.addEventListener('abort', onAbort, { once: true });
      try {
        for await (const e of watch) {
          clearTimeout(timer);
          timer = setTimeout(() => watch.stop(), WATCH_RENEW_MS);
          if (e.operation !== 'PUT' || e.value.length === 0) continue;
          const r = decodeInternal(ChunkResult, e.value);
          if (!r.ok) {
            throw new VpipeError(ErrorCodes.ToolFailed, `chunk ${r.index} failed: ${r.error?.message ?? 'unknown error'}`, { details: [{ path: `chunks.${r.index}`, message: r.error?.code ?? 'failed' }] });
          }
          if (results.has(r.index)) continue;
          results.set(r.index, r);
          const frames = [...results.values()].reduce((sum, x) => sum + (x.frames ?? 0), 0);
          const seconds = [...results.values()].reduce((sum, x) => sum + (x.encodeSeconds ?? 0), 0);
          deps.progress('encoding', results.size / total, { chunksDone: results.size, chunksTotal: total, fps: seconds > 0 ? frames / seconds : undefined });
          if (results.size === total) break;
        }
      } finally {
        clearTimeout(timer);
        signal.removeEventListener('abort', onAbort);
        hook.renew = null;
        watch.stop();
      }
    }
  } finally {
    statuses.stop?.();
  }
  const list = [...results.values()].sort((a, b) => a.index - b.index);
  const start = Math.min(...list.map((r) => r.startedAt ?? Infinity));
  const end = Math.max(...list.map((r) => r.finishedAt ?? 0));
  return { results: list, wallSeconds: Number.isFinite(start) && end > start ? (end - start) / 1000 : 0 };
}

export async function assembleOutput(job: VesJobInput, p: Plan, encoded: Encoded | null, signal: AbortSignal): Promise<{ bytes: number }> {
  const starts = new Map((encoded?.results ?? []).map((r) => [r.index, r.startSeconds]));
  return assemble({
    chunks: p.chunks.map((c) => ({ path: chunkPath(p.workDir, c.index), durationSeconds: c.durationSeconds, startSeconds: starts.get(c.index) })),
    outPath: job.outputPath,
    container: job.container,
    raw: encoderFor(job.recipe.codec).rawFormat,
    audioFrom: job.recipe.audio?.mode === 'copy' && p.source.hasAudio ? job.sourcePath : undefined,
    workDir: p.workDir,
    signal,
  });
}

/** What VVS is asked to check: everything the recipe and the plan promise. */
export function expectationsFor(job: VesJobInput, p: Plan): Expectations {
  const r = job.recipe;
  const e: Expectations = {
    codec: r.codec,
    resolution: { width: p.output.width, height: p.output.height },
    pixelFormat: p.output.pixelFormat,
    frameCount: p.source.frames,
    keyframesAtFrames: p.chunks.map((c) => c.startFrame).slice(0, 100_000),
    maxGopFrames: p.output.gopFrames,
    decodesWithoutErrors: true,
  };
  if (job.container !== 'raw') e.durationSeconds = p.source.durationSeconds;
  if (r.profile) {
    e.profile = r.profile;
    // A recipe's profile is a ceiling: x264 signals a lower one when the preset uses fewer tools (ultrafast → Constrained Baseline).
    e.profileMatch = 'decodable';
  }
  if (r.level) e.level = r.level;
  if (r.rateControl.mode === 'bitrate' && job.container !== 'raw') e.averageBitrateKbps = { target: r.rateControl.targetKbps, tolerancePercent: 35, allowUndershoot: true };
  return e;
}

/** Calls VVS through NATS; the idempotency key makes a resumed job reuse the same validation job. */
export async function validateOutput(job: VesJobInput, p: Plan, deps: StepDeps): Promise<ValidateResult> {
  const client = new VpipeClient(deps.runtime.nc);
  const { jobId } = await client.request<{ jobId: string }>(
    'vpipe.vvs.validate',
    { video: { uri: job.outputPath }, expectations: expectationsFor(job, p), priority: job.priority },
    { idempotencyKey: `${deps.jobId}.validate`, timeoutMs: 60_000 },
  );
  const ev = await client.waitForResult('vvs', jobId, { timeoutMs: 30 * 60_000 });
  if (ev.state !== 'succeeded') throw new VpipeError(ErrorCodes.Unavailable, `validation job ${jobId} ${ev.state}: ${ev.error?.message ?? ''}`, { retryable: true });
  return ev.result as ValidateResult;
}

/** Removes a job's chunk records in one call (a purge of its keys' subjects, however many chunks it had). */
async function purgeChunkRecords(ctx: RuntimeContext, jobId: string): Promise<void> {
  await withJsRetry(() => ctx.jsm.streams.purge(kvStream(KV_CHUNKS), { filter: `${kvPutSubject(KV_CHUNKS, jobId)}.>` }));
}

/** Removes the chunk files and records once the output is safely written. Never throws. */
export async function cleanUp(p: Plan, deps: StepDeps): Promise<void> {
  await fs.rm(p.workDir, { recursive: true, force: true }).catch(() => undefined);
  await purgeChunkRecords(deps.runtime, deps.jobId).catch(() => undefined);
}

/**
 * After a failed or cancelled job: removes its work directory (chunk items still queued see it gone and
 * are skipped without encoding) and its chunk records. Idempotent.
 */
export async function cleanUpEnded(ctx: RuntimeContext, jobId: string, job: VesJobInput): Promise<void> {
  await fs.rm(workDirFor(job.outputPath, jobId), { recursive: true, force: true });
  await purgeChunkRecords(ctx, jobId);
}
