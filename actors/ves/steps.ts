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
import { type StepDeps, VpipeClient } from '../../runtime/jobs/mod.js';
import { ErrorCodes, VpipeError } from '../../runtime/core/mod.js';
import { decodeInternal, encodePayload, getFrameIndex, isStreamFull, KV_CHUNKS, kvPutSubject, kvStream, type RuntimeContext, withJsRetry, workSubject } from '../../runtime/nats/mod.js';
import type { Expectations, ValidateResult } from '../../schemas/vvs.js';
import { endTicks, ticksToSeconds, type FrameIndex } from '../../schemas/frame-index.js';
import type { ChunkManifest, Chunking } from '../../schemas/ves.js';
import { detectSceneCuts, probeSource } from './compute/source-frames.js';
import { chunkSourceCheck, planOnIndex, relativeSeconds, WARM_UP_FRAMES, withRaps, type IndexPlan } from './compute/index-plan.js';
import { planChunks } from './compute/splitter.js';
import { sourceIndex } from './source-index.js';
import { assemble } from './compute/assemble.js';
import { drawnRegions } from './compute/overlays.js';
import { readChunkResult } from './chunk-worker.js';
import { ChunkResult, chunkKey, encodeFunction, type ChunkWorkItem } from './messages.js';
import { CHUNK_MANIFEST, type Encoded, type Plan, type VesJobInput } from './workflow.js';

/** Where a job's chunks are written: next to its output, so the assembler's inputs and output share a file system. */
export function workDirFor(outputPath: string, jobId: string): string {
  return path.join(path.dirname(outputPath), `.vpipe-${jobId}`);
}

export function chunkPath(workDir: string, index: number): string {
  return path.join(workDir, `chunk_${String(index).padStart(5, '0')}.mp4`);
}

export async function plan(job: VesJobInput, deps: StepDeps, signal: AbortSignal): Promise<Plan> {
  const [head, ix] = await Promise.all([probeSource(job.sourcePath, signal), sourceIndex(job, deps, signal)]);
  if (ix.pts.length === 0) throw new VpipeError(ErrorCodes.BadRequest, 'the source video decodes to no frames');
  // A damaged source decodes to concealed or missing pictures: encoding them faithfully would still deliver damage.
  if (ix.stats.decodeErrors > 0) {
    throw new VpipeError(ErrorCodes.BadRequest, `the source's video is damaged: decoding it logged ${ix.stats.decodeErrors} error(s) (VIS reports them as DECODE_ERRORS); repair or re-export it`, {
      details: [{ path: 'source.uri', message: `${ix.stats.decodeErrors} decode error(s)` }],
    });
  }
  const chunking = job.recipe.chunking;
  const { times } = relativeSeconds(ix);
  const cuts = chunking?.alignToSceneCuts && chunking.enabled !== false ? await detectSceneCuts(job.sourcePath, times, signal) : [];
  // The pictures as a player shows them: a quarter-turned display matrix swaps width and height.
  const sideways = head.rotation === 90 || head.rotation === 270;
  const shownW = sideways ? ix.height : ix.width;
  const shownH = sideways ? ix.width : ix.height;
  const width = job.recipe.resolution?.width ?? shownW;
  const height = job.recipe.resolution?.height ?? shownH;
  const spec = { recipe: job.recipe, frameRate: head.frameRate, width, height, sourceWidth: shownW, sourceHeight: shownH, threads: 1, rotation: head.rotation };
  const encoder = encoderFor(job.recipe.codec);
  const warmUp = encoder.forcedKeyframeArgs ? WARM_UP_FRAMES : 0;
  const planned = cuts.length ? planWithCuts(ix, chunking, cuts, warmUp) : planOnIndex(ix, chunking, gopFrames(spec), warmUp);
  const shape = shapeFor(job.recipe.codec, width, height);
  const probe = await encoder.probe();
  if (!probe.available) throw new VpipeError(ErrorCodes.ToolMissing, `${encoder.encoder} is not available: ${probe.reason ?? 'not in this ffmpeg build'}`);
  const workDir = workDirFor(job.outputPath, deps.jobId);
  await fs.mkdir(workDir, { recursive: true });
  const t0 = ix.pts[0]!;
  deps.log.info(
    { chunks: planned.chunks.length, frames: ix.pts.length, sceneCuts: cuts.length, shape: shape.name, splitting: planned.splitting, preRollFrames: planned.preRollFrames, raps: ix.raps.length },
    'chunks planned',
  );
  return {
    source: {
      codec: head.codec,
      width: shownW,
      height: shownH,
      rotation: head.rotation,
      frameRate: head.frameRate,
      frames: ix.pts.length,
      durationSeconds: ticksToSeconds(ix, endTicks(ix) - t0),
      hasAudio: head.hasAudio,
    },
    output: { width, height, gopFrames: gopFrames(spec), pixelFormat: encoder.pixelFormatFor(job.recipe) },
    chunks: planned.chunks,
    shape: shape.name,
    threads: shape.cpus,
    workDir,
    encoder: { name: encoder.encoder, version: probe.version },
    index: {
      contentHash: ix.contentHash,
      streamIndex: ix.streamIndex,
      timeBase: ix.timeBase,
      firstTicks: t0,
      startTicks: planned.chunks.map((c) => ix.pts[c.startFrame]! - t0),
      endTicks: endTicks(ix) - t0,
      verifiedRandomAccessPoints: ix.raps.length - 1,
      splitting: planned.splitting,
      preRollFrames: planned.preRollFrames,
    },
  };
}

/** Scene-cut boundaries (the recipe asked for them), still started at verified points. */
function planWithCuts(ix: FrameIndex, chunking: Chunking | undefined, cuts: number[], warmUp: number): IndexPlan {
  const { times, end } = relativeSeconds(ix);
  const { chunks, preRoll } = withRaps(ix, planChunks({ frameTimes: times, endSeconds: end, chunking, sceneCuts: cuts }), warmUp);
  return { chunks, splitting: chunks.some((c) => (c.skipFrames ?? 0) > 0) ? 'pre-roll' : 'random-access', preRollFrames: preRoll };
}

/** Chunk items in flight at once while dispatching: thousands of chunks queue in a few round trips, in index order. */
const DISPATCH_WINDOW = 32;

/** Publishes one work item per chunk not yet recorded (Nats-Msg-Id `<jobId>.<index>` dedupes a quick re-run). */
export async function dispatch(job: VesJobInput, p: Plan, deps: StepDeps, signal?: AbortSignal): Promise<void> {
  const subject = workSubject(encodeFunction(job.recipe.codec), job.priority);
  const ix = p.index ? await getFrameIndex(deps.runtime.topology, p.index.contentHash) : null;
  if (p.index && !ix) throw new VpipeError(ErrorCodes.Unavailable, 'the source frame index is missing from the store', { retryable: true });
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
      spec: {
        recipe: job.recipe,
        frameRate: p.source.frameRate,
        width: p.output.width,
        height: p.output.height,
        sourceWidth: p.source.width,
        sourceHeight: p.source.height,
        threads: p.threads,
        rotation: p.source.rotation ?? 0,
        ...(job.timecodeStart ? { timecodeStart: job.timecodeStart } : {}),
        ...(job.watermarkImagePath ? { watermarkImagePath: job.watermarkImagePath } : {}),
      },
      shape: p.shape,
      outPath: chunkPath(p.workDir, chunk.index),
    };
    if (ix && p.index) item.source = { streamIndex: p.index.streamIndex, timeBase: p.index.timeBase, ...chunkSourceCheck(ix, chunk) };
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
            // A chunk that took the wrong pictures fails the job as what it is, not as a tool failure.
            const code = r.error?.code === ErrorCodes.ContentMismatch ? ErrorCodes.ContentMismatch : ErrorCodes.ToolFailed;
            throw new VpipeError(code, `chunk ${r.index} failed: ${r.error?.message ?? 'unknown error'}`, { details: [{ path: `chunks.${r.index}`, message: r.error?.code ?? 'failed' }] });
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
  const spans = p.index ? exactSpans(p.index) : null;
  return assemble({
    chunks: p.chunks.map((c, i) => ({ path: chunkPath(p.workDir, c.index), durationSeconds: c.durationSeconds, startSeconds: starts.get(c.index), durationMicros: spans?.[i] })),
    outPath: job.outputPath,
    container: job.container,
    raw: encoderFor(job.recipe.codec).rawFormat,
    mp4Tag: encoderFor(job.recipe.codec).mp4Tag,
    audioFrom: job.recipe.audio && job.recipe.audio.mode !== 'none' && p.source.hasAudio ? job.sourcePath : undefined,
    audio: job.recipe.audio,
    audioOffsetSeconds: p.index ? ticksToSeconds(p.index, p.index.firstTicks) : 0,
    workDir: p.workDir,
    mediaSeconds: p.source.durationSeconds,
    turned: (p.source.rotation ?? 0) !== 0,
    signal,
  });
}

/**
 * Chunk spans in whole microseconds (what the concat demuxer counts in) such that each chunk's
 * start, the sum of the spans before it, is its exact start rounded once — never a sum of rounded
 * durations, so the error stays under half a microsecond however many chunks there are.
 */
export function exactSpans(ix: NonNullable<Plan['index']>): number[] {
  const { num, den } = ix.timeBase;
  const us = (ticks: number): bigint => (BigInt(ticks) * BigInt(num) * 1_000_000n * 2n + BigInt(den)) / (2n * BigInt(den));
  const edges = [...ix.startTicks, ix.endTicks].map(us);
  return edges.slice(1).map((e, i) => Number(e - edges[i]!));
}

/** A chunk frame below this PSNR against its source frame is not the source's picture (a good encode is 30–50 dB; a shifted or garbage one under 20). */
export const CONTENT_PSNR_FLOOR_DB = 20;

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
  // The pictures and their times, against the source through its frame index.
  if (p.index) e.content = { source: { uri: job.sourceUri }, contentHash: p.index.contentHash, chunkStarts: p.chunks.map((c) => c.startFrame).slice(0, 100_000), psnrFloorDb: CONTENT_PSNR_FLOOR_DB, checkTimes: job.container !== 'raw' };
  // What the recipe draws (burn-ins, a visible watermark) is left out of the comparison with the source.
  const drawn = drawnRegions(r, p.output.width, p.output.height, job.watermarkImageSize);
  if (e.content && drawn.length) e.content.maskRegions = drawn;
  if (r.profile) {
    e.profile = r.profile;
    // A recipe's profile is a ceiling: x264 signals a lower one when the preset uses fewer tools (ultrafast → Constrained Baseline).
    e.profileMatch = 'decodable';
  }
  if (r.level) e.level = r.level;
  if (r.rateControl?.mode === 'bitrate' && job.container !== 'raw') e.averageBitrateKbps = { target: r.rateControl.targetKbps, tolerancePercent: 35, allowUndershoot: true };
  return e;
}

/** Calls VVS through NATS; the idempotency key makes a resumed job reuse the same validation job. */
export async function validateOutput(job: VesJobInput, p: Plan, deps: StepDeps, signal?: AbortSignal): Promise<ValidateResult> {
  const client = new VpipeClient(deps.runtime.nc);
  const { jobId } = await client.request<{ jobId: string }>(
    'vpipe.vvs.validate',
    { video: { uri: job.outputPath }, expectations: expectationsFor(job, p), priority: job.priority },
    { idempotencyKey: `${deps.jobId}.validate`, timeoutMs: 60_000 },
  );
  const ev = await client.waitForResult('vvs', jobId, { timeoutMs: 30 * 60_000, signal });
  if (ev.state !== 'succeeded') throw new VpipeError(ErrorCodes.Unavailable, `validation job ${jobId} ${ev.state}: ${ev.error?.message ?? ''}`, { retryable: true });
  return ev.result as ValidateResult;
}

/** Removes a job's chunk records in one call (a purge of its keys' subjects, however many chunks it had). */
async function purgeChunkRecords(ctx: RuntimeContext, jobId: string): Promise<void> {
  await withJsRetry(() => ctx.jsm.streams.purge(kvStream(KV_CHUNKS), { filter: `${kvPutSubject(KV_CHUNKS, jobId)}.>` }));
}

/**
 * Moves the chunk files to `<output>.chunks/` with their manifest (output.keepChunks); idempotent: a
 * re-run after the move finds the set in place. Throws TOOL_FAILED when neither is there.
 */
export async function keepChunkSet(job: VesJobInput, p: Plan, encoded: Encoded | null, jobId: string): Promise<void> {
  const dest = `${job.outputPath}.chunks`;
  const manifestPath = path.join(dest, CHUNK_MANIFEST);
  const hasWork = await fs.stat(p.workDir).then(() => true, () => false);
  if (!hasWork) {
    if (await fs.stat(manifestPath).then(() => true, () => false)) return;
    throw new VpipeError(ErrorCodes.ToolFailed, `the chunk files of ${job.outputUri} are gone`);
  }
  const starts = new Map((encoded?.results ?? []).map((r) => [r.index, r.startSeconds]));
  const spans = p.index ? exactSpans(p.index) : null;
  const manifest: ChunkManifest = {
    jobId,
    codec: job.recipe.codec,
    container: job.container,
    frames: p.source.frames,
    durationSeconds: p.source.durationSeconds,
    chunks: p.chunks.map((c, i) => ({ index: c.index, file: path.basename(chunkPath(p.workDir, c.index)), startFrame: c.startFrame, endFrame: c.endFrame, durationSeconds: c.durationSeconds, durationMicros: spans?.[i], startSeconds: starts.get(c.index) })),
    audioOffsetSeconds: p.index ? ticksToSeconds(p.index, p.index.firstTicks) : 0,
  };
  // Only the chunk files and the manifest travel (work files such as the concat list stay behind).
  await fs.writeFile(path.join(p.workDir, CHUNK_MANIFEST), JSON.stringify(manifest, null, 1));
  await fs.rm(dest, { recursive: true, force: true });
  await fs.rename(p.workDir, dest);
}

/** Removes the chunk files (or keeps them, for output.keepChunks) and records once the output is safely written. Never throws except when kept chunks cannot be kept. */
export async function cleanUp(p: Plan, deps: StepDeps, keep?: { job: VesJobInput; encoded: Encoded | null }): Promise<void> {
  if (keep?.job.keepChunks) await keepChunkSet(keep.job, p, keep.encoded, deps.jobId);
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
