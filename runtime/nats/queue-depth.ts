/**
 * Work-queue depth per consumer: `num_pending + num_ack_pending`, the signal
 * KEDA's NATS JetStream scaler reads and the supervisor will scale on.
 */
import { PRIORITIES, type Priority } from '../../schemas/common.js';
import { metrics } from '../core/mod.js';
import type { RuntimeContext } from './context.js';
import { STREAM_WORK, workConsumer } from './topology.js';

export interface QueueDepth {
  fn: string;
  priority: Priority;
  consumer: string;
  pending: number;
  ackPending: number;
}

/** Reads each (function, priority) consumer once; a consumer that cannot be read is left out (throws nothing). */
export async function readQueueDepths(ctx: RuntimeContext, functions: readonly string[]): Promise<QueueDepth[]> {
  const out: QueueDepth[] = [];
  for (const fn of functions) {
    for (const p of PRIORITIES) {
      const consumer = workConsumer(fn, p);
      try {
        const info = await ctx.jsm.consumers.info(STREAM_WORK, consumer);
        out.push({ fn, priority: p, consumer, pending: info.num_pending, ackPending: info.num_ack_pending });
      } catch {
        /* not created yet, or the cluster is electing a leader: next round */
      }
    }
  }
  return out;
}

/** Updates the vpipe_work_queue_depth gauge every intervalMs until the returned stop() is called. */
export function monitorQueueDepths(ctx: RuntimeContext, functions: readonly string[], intervalMs = 5_000): () => void {
  let stopped = false;
  const tick = async () => {
    if (stopped) return;
    for (const d of await readQueueDepths(ctx, functions)) metrics.workQueueDepth.set({ consumer: d.consumer }, d.pending + d.ackPending);
    if (!stopped) timer = setTimeout(() => void tick(), intervalMs);
  };
  let timer = setTimeout(() => void tick(), 0);
  return () => {
    stopped = true;
    clearTimeout(timer);
  };
}
