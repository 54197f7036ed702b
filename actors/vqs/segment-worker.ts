/**
 * The segment workers' handler: takes `vpipe.work.vqs.segment.<priority>`
 * items, scores each in one segment actor and records its per-frame scores
 * in `vpipe_chunks` (`<jobId>.<index>`), where the job's reduce reads them.
 * Redelivery is idempotent: a segment already recorded, or one of a job
 * that has ended, is acked without measuring.
 */
import { performance } from 'node:perf_hooks';
import { fromPromise } from 'xstate';
import { SHAPES } from '../../encoders/shapes.js';
import { ErrorCodes, isCrash, type Logger, RetryPolicies, VpipeError } from '../../runtime/core/mod.js';
import { runToCompletion } from '../../runtime/jobs/mod.js';
import { runTool, type ToolRunner } from '../../runtime/media/mod.js';
import { decodeInternal, encodePayload, KV_CHUNKS, kvPutSubject, type RuntimeContext, withJsRetry } from '../../runtime/nats/mod.js';
import { decodeItem, type Settlement, type Shape, type WorkHandler } from '../../runtime/workers/mod.js';
import { measureSegment } from './compute/measure-segment.js';
import { metricTool, vmafMissingError } from './compute/metric-tool.js';
import { endKey, SegmentResult, segmentKey, SegmentWorkItem } from './messages.js';
import { vqsMetrics } from './metrics.js';
import { segmentMachine } from './segment-machine.js';

/** What one segment takes of a node: libvmaf's cost grows with the pixels compared. */
export function segmentShape(width: number, height: number): Shape {
  const pixels = width * height;
  return pixels <= 640 * 360 ? SHAPES.small : pixels <= 1920 * 1080 ? SHAPES.medium : SHAPES.large;
}

/** A segment's recorded result, or null; throws UNDECODABLE_PAYLOAD for a damaged record. */
export async function readSegment(ctx: Pick<RuntimeContext, 'topology'>, key: string): Promise<SegmentResult | null> {
  const entry = await withJsRetry(() => ctx.topology.chunks.get(key));
  return entry && entry.operation === 'PUT' && entry.value.length ? decodeInternal(SegmentResult, entry.value) : null;
}

/** Whether the job of a segment has ended (the job's clean-up leaves `<jobId>.end`). */
export async function jobHasEnded(ctx: Pick<RuntimeContext, 'topology'>, jobId: string): Promise<boolean> {
  const entry = await withJsRetry(() => ctx.topology.chunks.get(endKey(jobId)));
  return entry?.operation === 'PUT';
}

/** Builds the handler for one node's segment actors; `run` is the tool runner (tests may wrap it). */
export function segmentHandler(ctx: RuntimeContext, workerId: string, run: ToolRunner = runTool): WorkHandler {
  const retry = RetryPolicies.chunk.with({ maximumAttempts: ctx.topology.options.maxDeliver });
  // The item's progress reporter (machine context stays plain data): its ffmpeg's -progress lines keep it heartbeated.
  const progressOf = new WeakMap<SegmentWorkItem, () => void>();
  const put = (jobId: string, r: SegmentResult) => withJsRetry(() => ctx.pub.publish(kvPutSubject(KV_CHUNKS, segmentKey(jobId, r.index)), encodePayload({ ...r, worker: workerId }, 'msgpack')));
  const machine = segmentMachine.provide({
    actors: {
      measure: fromPromise(async ({ input, signal }) => {
        const tool = await metricTool(run);
        if (input.vmaf && !tool.vmaf.available) throw vmafMissingError(tool.vmaf.reason);
        const t0 = performance.now();
        const scores = await measureSegment(input, { binary: tool.binary, signal, onActivity: progressOf.get(input) }, run);
        return { ...scores, seconds: (performance.now() - t0) / 1000 };
      }),
      record: fromPromise(({ input }) => put(input.jobId, input.result).then(() => undefined)),
    },
  });

  const measure = async (item: SegmentWorkItem, delivery: number, signal: AbortSignal, log: Logger): Promise<Settlement> => {
    const vmaf = item.vmaf ? 'yes' : 'no';
    const out = await runToCompletion(machine, { item, delivery }, signal).catch(() => null);
    if (!out) return { nakDelayMs: 0 }; // interrupted by shutdown: give it back at once
    if (out.ok) {
      vqsMetrics.segments.inc({ outcome: 'ok' });
      vqsMetrics.segmentSeconds.observe({ vmaf }, out.result.seconds);
      vqsMetrics.framesMeasured.inc({ vmaf }, out.result.frames);
      if (out.result.seconds > 0) vqsMetrics.measureFps.observe({ vmaf }, out.result.frames / out.result.seconds);
      log.info({ seconds: out.result.seconds, frames: out.result.frames }, 'segment measured');
      return { ack: true };
    }
    if (retry.shouldRetry(out.error, delivery)) {
      vqsMetrics.segments.inc({ outcome: 'retry' });
      log.warn({ error: out.error }, 'segment failed; retrying later');
      return { nakDelayMs: retry.delayMs(delivery), crashed: isCrash(out.error) };
    }
    vqsMetrics.segments.inc({ outcome: 'failed' });
    log.error({ error: out.error }, 'segment failed for good');
    await put(item.jobId, { index: item.index, ok: false, error: out.error, delivery });
    return { term: out.error.message.slice(0, 200) };
  };

  return async (msg, wc) => {
    const decoded = decodeItem(SegmentWorkItem, msg, wc.log, 'segment work item');
    if (!decoded.ok) return decoded.settlement;
    const item = decoded.item;
    const log = wc.log.child({ jobId: item.jobId, segment: item.index, priority: wc.priority });
    if ((await readSegment(ctx, segmentKey(item.jobId, item.index)))?.ok || (await jobHasEnded(ctx, item.jobId))) {
      vqsMetrics.segments.inc({ outcome: 'skipped' });
      log.info('segment already measured, or its job has ended: acked without measuring');
      return { ack: true };
    }
    const reservation = await wc.reserve(segmentShape(item.width, item.height)).catch(() => null);
    if (!reservation) return { nakDelayMs: 0 }; // interrupted by shutdown while waiting for room
    try {
      // libvmaf and the decoders get exactly the CPUs the shape was granted.
      const granted: SegmentWorkItem = { ...item, threads: Math.max(1, reservation.shape.cpus) };
      progressOf.set(granted, wc.progress);
      log.info({ frames: item.endFrame - item.startFrame, delivery: wc.delivery, threads: granted.threads }, 'segment measurement started');
      return await measure(granted, wc.delivery, wc.signal, log);
    } finally {
      reservation.release();
    }
  };
}

/** Records a dead segment as failed, so its job's reduce fails with the reason instead of waiting. Never throws. */
export async function recordDeadSegment(ctx: RuntimeContext, data: Uint8Array, reason: string): Promise<void> {
  try {
    const item = decodeInternal(SegmentWorkItem, data);
    const failed: SegmentResult = { index: item.index, ok: false, error: new VpipeError(ErrorCodes.DeadLetter, reason).toBody() };
    await withJsRetry(() => ctx.topology.chunks.put(segmentKey(item.jobId, item.index), encodePayload(failed, 'msgpack')));
  } catch (e) {
    ctx.log.error({ err: e }, 'could not record a dead segment');
  }
}
