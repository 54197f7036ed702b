/**
 * The VQS machine's steps, provided with the world: ffprobe/ffmpeg, the
 * frame-index store, NATS (segment work items out, segment results in).
 * Every step is idempotent, because a resumed job re-runs the step that was
 * in flight: dispatch skips recorded segments, the reduce re-reads them.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { ErrorCodes, VpipeError } from '../../runtime/core/mod.js';
import type { StepDeps } from '../../runtime/jobs/mod.js';
import { contentHash, encodePayload, getFrameIndex, isStreamFull, KV_CHUNKS, kvPutSubject, kvStream, type RuntimeContext, withJsRetry, workSubject } from '../../runtime/nats/mod.js';
import { VMAF_MODEL_HEIGHT, type MeasureResult } from '../../schemas/vqs.js';
import { metricTool, vmafMissingError } from './compute/metric-tool.js';
import { joinSegments } from './compute/pooling.js';
import { countFrames, probeVideo, type VideoHead } from './compute/probe.js';
import { endKey, SEGMENT_FUNCTION, type SegmentResult, segmentKey, type SegmentWorkItem } from './messages.js';
import { vqsMetrics } from './metrics.js';
import { measurementResult, writeReport } from './result.js';
import { readSegment, segmentShape } from './segment-worker.js';
import type { Plan, SidePlan, VqsJobInput } from './workflow.js';

const even = (x: number): number => Math.max(2, 2 * Math.round(x / 2));

/** A side's frame count: its frame index's where VIS built one for this content, else a counting decode. */
async function side(path: string, head: VideoHead, deps: StepDeps, signal: AbortSignal): Promise<SidePlan> {
  const stores = deps.runtime.topology;
  const ix = await getFrameIndex(stores, await contentHash(stores, path, signal));
  const base = { width: head.width, height: head.height };
  if (ix) return { ...base, streamIndex: ix.streamIndex, frames: ix.pts.length, countedBy: 'frame-index' };
  return { ...base, streamIndex: head.streamIndex, frames: await countFrames(path, head, signal), countedBy: 'decode' };
}

/** The comparison size: the reference's display size, the model's display height at the reference's aspect ratio, or as asked (even numbers, for 4:2:0). */
export function compareSize(job: Pick<VqsJobInput, 'compareAt' | 'vmaf'>, ref: { width: number; height: number }): { width: number; height: number } {
  if (job.compareAt === 'reference') return { width: ref.width, height: ref.height };
  if (job.compareAt === 'model') {
    const h = VMAF_MODEL_HEIGHT[job.vmaf.model];
    return { width: even((h * ref.width) / ref.height), height: h };
  }
  return { width: even(job.compareAt.width), height: even(job.compareAt.height) };
}

/** Segments of about `size` frames over `frames`, balanced (no short tail). */
export function planSegments(frames: number, size: number): Plan['segments'] {
  const n = Math.max(1, Math.ceil(frames / size));
  return Array.from({ length: n }, (_, i) => ({ index: i, startFrame: Math.round((i * frames) / n), endFrame: Math.round(((i + 1) * frames) / n) }));
}

/** Throws TOOL_MISSING (VMAF asked for and missing, not allowed without), CONTENT_MISMATCH (frame counts differ, not allowed), BAD_REQUEST (unreadable or empty video). */
export async function plan(job: VqsJobInput, deps: StepDeps, signal: AbortSignal): Promise<Plan> {
  const tool = await metricTool();
  const notMeasured: Plan['notMeasured'] = [];
  let metrics = job.metrics;
  if (metrics.includes('vmaf') && !tool.vmaf.available) {
    if (!job.allowWithoutVmaf) throw vmafMissingError(tool.vmaf.reason);
    notMeasured.push({ metric: 'vmaf', reason: tool.vmaf.reason });
    metrics = metrics.filter((m) => m !== 'vmaf');
  }
  if (metrics.length === 0) throw new VpipeError(ErrorCodes.ToolMissing, `nothing to measure: ${notMeasured.map((n) => `${n.metric}: ${n.reason}`).join('; ')}`);
  const [refHead, distHead] = await Promise.all([probeVideo(job.referencePath, 'reference', signal), probeVideo(job.distortedPath, 'distorted', signal)]);
  const [reference, distorted] = await Promise.all([side(job.referencePath, refHead, deps, signal), side(job.distortedPath, distHead, deps, signal)]);
  if (reference.frames !== distorted.frames) {
    const counts = `the reference has ${reference.frames} frames (${reference.countedBy}), the distorted video ${distorted.frames} (${distorted.countedBy})`;
    if (!job.allowFrameCountMismatch) {
      vqsMetrics.frameCountMismatches.inc({ action: 'failed' });
      throw new VpipeError(ErrorCodes.ContentMismatch, `frame counts differ: ${counts}; frames are paired by number, so a missing or extra frame would shift every pair after it. Send allowFrameCountMismatch: true to score the first ${Math.min(reference.frames, distorted.frames)} pairs anyway`, {
        details: [
          { path: 'reference', message: `${reference.frames} frames` },
          { path: 'distorted', message: `${distorted.frames} frames` },
        ],
      });
    }
    vqsMetrics.frameCountMismatches.inc({ action: 'scored' });
    deps.log.warn({ reference: reference.frames, distorted: distorted.frames }, 'frame counts differ; scoring the common frames as asked');
  }
  const compared = Math.min(reference.frames, distorted.frames);
  if (compared === 0) throw new VpipeError(ErrorCodes.BadRequest, `no frames to compare: ${reference.frames === 0 ? 'reference' : 'distorted'} decodes to no frames`);
  const perFrame = (h: VideoHead, frames: number) => (h.fps ? 1 / h.fps : h.durationSeconds && frames ? h.durationSeconds / frames : 1 / 25);
  const p: Plan = {
    metrics,
    notMeasured,
    tool: { ffmpeg: tool.ffmpeg, libvmaf: tool.vmaf.available && metrics.includes('vmaf') ? tool.vmaf.libvmaf : null },
    reference,
    distorted,
    compare: { ...compareSize(job, reference), pixelFormat: refHead.bitDepth > 8 || distHead.bitDepth > 8 ? 'yuv420p10le' : 'yuv420p' },
    compared,
    segments: planSegments(compared, job.segmentFrames),
    secondsPerFrame: Math.max(perFrame(refHead, reference.frames), perFrame(distHead, distorted.frames)),
  };
  deps.log.info({ frames: compared, segments: p.segments.length, compare: p.compare, metrics, counted: [reference.countedBy, distorted.countedBy] }, 'measurement planned');
  return p;
}

/** One segment's work item: it decodes one frame either side of its range (libvmaf's motion looks at both neighbours) and scores only its own. */
export function segmentItem(jobId: string, job: VqsJobInput, p: Plan, s: Plan['segments'][number]): SegmentWorkItem {
  const context = p.metrics.includes('vmaf') ? 1 : 0;
  const decodeTo = Math.min(p.compared, s.endFrame + context);
  const item: SegmentWorkItem = {
    jobId,
    index: s.index,
    total: p.segments.length,
    distortedPath: job.distortedPath,
    referencePath: job.referencePath,
    distortedStream: p.distorted.streamIndex,
    referenceStream: p.reference.streamIndex,
    startFrame: s.startFrame,
    endFrame: s.endFrame,
    decodeFrom: Math.max(0, s.startFrame - context),
    decodeTo,
    ...p.compare,
    metrics: p.metrics,
    threads: segmentShape(p.compare.width, p.compare.height).cpus,
    mediaSeconds: decodeTo * p.secondsPerFrame,
  };
  if (p.metrics.includes('vmaf')) item.vmaf = job.vmaf;
  return item;
}

/** Queues one work item per segment not yet recorded (Nats-Msg-Id `<jobId>.<index>` dedupes a quick re-run); a full queue is UNAVAILABLE (retryable). */
export async function dispatch(job: VqsJobInput, p: Plan, deps: StepDeps): Promise<void> {
  const subject = workSubject(SEGMENT_FUNCTION, job.priority);
  for (const s of p.segments) {
    if ((await readSegment(deps.runtime, segmentKey(deps.jobId, s.index)))?.ok) continue;
    const data = encodePayload(segmentItem(deps.jobId, job, p, s), 'msgpack');
    try {
      await withJsRetry(() => deps.runtime.pub.publish(subject, data, { msgID: `${deps.jobId}.${s.index}` }));
    } catch (e) {
      if (isStreamFull(e)) throw new VpipeError(ErrorCodes.Unavailable, 'the work queue is full (VPIPE_MAX_QUEUED_WORK); the measurement is retried later', { retryable: true, cause: e });
      throw e;
    }
  }
}

/** Polling interval of the reduce: from a quick first look to a relaxed one for long segments. */
const POLL_MS = { first: 200, max: 2_000 };

/** A failed segment fails the job as what it was: wrong frame counts, missing VMAF and dead letters keep their codes. */
function segmentFailure(r: SegmentResult): VpipeError {
  const code = r.error && ([ErrorCodes.ContentMismatch, ErrorCodes.ToolMissing, ErrorCodes.DeadLetter] as string[]).includes(r.error.code) ? r.error.code : ErrorCodes.ToolFailed;
  return new VpipeError(code as typeof ErrorCodes.ToolFailed, `segment ${r.index} failed: ${r.error?.message ?? 'unknown error'}`, { details: [{ path: `segments.${r.index}`, message: r.error?.code ?? 'failed' }] });
}

/**
 * The reduce: waits until every segment has a result (reading the records, so a resumed job picks up what
 * is done), throws at the first failed one, then joins the per-frame scores in frame order and pools them.
 */
export async function measure(job: VqsJobInput, p: Plan, deps: StepDeps, signal: AbortSignal): Promise<MeasureResult> {
  const results = new Map<number, SegmentResult>();
  for (let wait = POLL_MS.first; ; wait = Math.min(POLL_MS.max, wait * 1.5)) {
    if (signal.aborted) throw new VpipeError(ErrorCodes.Cancelled, 'stopped while waiting for segments');
    for (const s of p.segments) {
      if (results.has(s.index)) continue;
      const r = await readSegment(deps.runtime, segmentKey(deps.jobId, s.index));
      if (!r) continue;
      if (!r.ok) throw segmentFailure(r);
      results.set(s.index, r);
      deps.progress('measuring', results.size / p.segments.length, { chunksDone: results.size, chunksTotal: p.segments.length });
    }
    if (results.size === p.segments.length) break;
    await sleep(wait, undefined, { signal }).catch(() => undefined);
  }
  const ordered = p.segments.map((s) => results.get(s.index)!);
  const joined = joinSegments(ordered);
  const result = measurementResult(job, p, joined, ordered.find((r) => r.libvmaf)?.libvmaf ?? p.tool.libvmaf);
  if (job.report) {
    await writeReport(job.report.path, result, joined);
    result.report = { uri: job.report.uri };
  }
  for (const [metric, block] of Object.entries(result.metrics)) vqsMetrics.score.observe({ metric: metric === 'psnr' ? 'psnr_y' : metric }, block.mean);
  return result;
}

/** Removes a job's segment records in one call and leaves `<jobId>.end`, so segments still queued are skipped. Idempotent. */
export async function cleanUp(ctx: RuntimeContext, jobId: string): Promise<void> {
  await withJsRetry(() => ctx.jsm.streams.purge(kvStream(KV_CHUNKS), { filter: `${kvPutSubject(KV_CHUNKS, jobId)}.>` }));
  await withJsRetry(() => ctx.topology.chunks.put(endKey(jobId), encodePayload({ endedAt: Date.now() }, 'msgpack')));
}
