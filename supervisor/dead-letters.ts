/**
 * Dead letters. Work that can never succeed is published to `vpipe.dlq.<fn>`
 * (stream VPIPE_DLQ) with its reason before it is terminated; work that
 * exhausts its deliveries is found through the MAX_DELIVERIES advisory
 * (captured by stream VPIPE_ADVISORIES, so no advisory is lost while no node
 * runs), copied to the DLQ, removed from the work queue, and its owner told:
 * a chunk is recorded as failed (its job then fails with the reason), a job
 * work item fails its job. Nothing hangs waiting for work that is gone.
 */
import { AckPolicy, DeliverPolicy, JetStreamApiError, RetentionPolicy, StorageType } from '@nats-io/jetstream';
import { headers as natsHeaders, type MsgHdrs } from '@nats-io/transport-node';
import { z } from 'zod';
import { type RuntimeContext, STREAM_WORK, Subjects, withJsRetry } from '../runtime/nats/mod.js';
import { metrics, RetryPolicies, sleep } from '../runtime/core/mod.js';
import { type DeadItem, PriorityPuller } from '../runtime/workers/mod.js';

export const STREAM_DLQ = 'VPIPE_DLQ';
export const STREAM_ADVISORIES = 'VPIPE_ADVISORIES';
export const KEEPER_CONSUMER = 'dead_letter_keeper';
const MAX_DELIVERIES_SUBJECT = `$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES.${STREAM_WORK}.>`;
const DAY_NS = 24 * 3600 * 1_000_000_000;

/** `vpipe.work.encode.h264.high` → `encode.h264`. */
export function workFunctionOf(subject: string): string {
  return subject.split('.').slice(2, -1).join('.');
}

/** Creates the DLQ and advisory streams and the keeper's durable consumer (idempotent). */
export async function ensureDeadLetterTopology(ctx: RuntimeContext): Promise<void> {
  const replicas = ctx.topology.options.replicas;
  const add = async (cfg: Parameters<typeof ctx.jsm.streams.add>[0]) => {
    try {
      await withJsRetry(() => ctx.jsm.streams.add(cfg), 30_000);
    } catch (e) {
      if (!(e instanceof JetStreamApiError)) throw e;
      await withJsRetry(() => ctx.jsm.streams.update(cfg.name!, cfg), 30_000);
    }
  };
  await add({ name: STREAM_DLQ, subjects: [Subjects.allDeadLetters], retention: RetentionPolicy.Limits, storage: StorageType.File, num_replicas: replicas, max_age: 30 * DAY_NS, description: 'work that could not be done, with its reason' });
  await add({ name: STREAM_ADVISORIES, subjects: [MAX_DELIVERIES_SUBJECT], retention: RetentionPolicy.Workqueue, storage: StorageType.File, num_replicas: replicas, max_age: 7 * DAY_NS, description: 'MAX_DELIVERIES advisories of the work queues' });
  await withJsRetry(() => ctx.jsm.consumers.add(STREAM_ADVISORIES, { durable_name: KEEPER_CONSUMER, ack_policy: AckPolicy.Explicit, deliver_policy: DeliverPolicy.All, ack_wait: 30_000_000_000, max_deliver: 10 }), 30_000).catch((e: unknown) => {
    if (!(e instanceof JetStreamApiError)) throw e;
  });
}

/** A dead work item with its reason: what a pool's host hands the supervisor's dead-letter plug. */
export type DeadLetter = DeadItem;

/** Publishes a dead letter with its reason in headers (`Vpipe-Dead-Reason`, `Vpipe-Work-Subject`, `Vpipe-Deliveries`). */
export async function publishDeadLetter(ctx: RuntimeContext, d: DeadLetter): Promise<void> {
  const h: MsgHdrs = natsHeaders();
  h.set('Vpipe-Dead-Reason', d.reason.replace(/[\r\n]+/g, ' ').slice(0, 1000));
  h.set('Vpipe-Work-Subject', d.subject);
  h.set('Vpipe-Deliveries', String(d.deliveries));
  await withJsRetry(() => ctx.js.publish(Subjects.deadLetter(d.fn), d.data, { headers: h }));
  metrics.deadLetters.inc({ function: d.fn });
  ctx.log.warn({ function: d.fn, reason: d.reason, deliveries: d.deliveries }, 'work sent to the dead-letter stream');
}

/** Tells the owner of a dead work item, so its job fails instead of waiting (e.g. record a failed chunk). Never throws. */
export type DeadLetterOwner = (d: DeadLetter) => Promise<void>;

const Advisory = z.object({ stream: z.string(), consumer: z.string(), stream_seq: z.number(), deliveries: z.number() });

/**
 * The keeper: takes MAX_DELIVERIES advisories from VPIPE_ADVISORIES (one
 * keeper per advisory, any node), moves the work item to the DLQ and tells
 * its owner. Stops with the returned function.
 */
export function startDeadLetterKeeper(ctx: RuntimeContext, owners: (fn: string) => DeadLetterOwner | undefined): () => Promise<void> {
  const stop = new AbortController();
  const puller = new PullOne(ctx);
  const loop = (async () => {
    let failures = 0;
    while (!stop.signal.aborted) {
      let m;
      try {
        m = await puller.next(stop.signal);
        failures = 0;
      } catch (e) {
        // A pull that keeps failing (a server gone) is tried again after the poll policy's growing wait, not at once.
        const waitMs = RetryPolicies.poll.delayMs(++failures);
        ctx.log.warn({ err: e, waitMs }, 'dead-letter keeper: pull failed; retrying');
        await sleep(waitMs, stop.signal);
        continue;
      }
      if (!m) continue;
      try {
        const a = Advisory.parse(JSON.parse(new TextDecoder().decode(m.data)));
        const stored = await withJsRetry(() => ctx.jsm.streams.getMessage(a.stream, { seq: a.stream_seq })).catch(() => null);
        if (stored) {
          const d: DeadLetter = { fn: workFunctionOf(stored.subject), subject: stored.subject, data: stored.data, reason: `gave up after ${a.deliveries} deliveries (consumer ${a.consumer}): the worker kept crashing or timing out`, deliveries: a.deliveries };
          await publishDeadLetter(ctx, d);
          await owners(d.fn)?.(d).catch((e: unknown) => ctx.log.error({ err: e }, 'dead-letter owner failed'));
          await withJsRetry(() => ctx.jsm.streams.deleteMessage(a.stream, a.stream_seq)).catch(() => false);
        }
        await m.ack();
      } catch (e) {
        ctx.log.error({ err: e }, 'bad advisory; dropped');
        m.term('unparseable advisory');
      }
    }
  })();
  return async () => {
    stop.abort();
    await loop;
    puller.close();
  };
}

/** The keeper's mailbox: the durable advisory consumer, read with the same no-wait pulls as the work queues. */
class PullOne {
  private readonly puller: PriorityPuller;
  constructor(ctx: RuntimeContext) {
    this.puller = new PriorityPuller(ctx.nc, '', { stream: STREAM_ADVISORIES, consumerFor: () => KEEPER_CONSUMER, wakeSubject: MAX_DELIVERIES_SUBJECT, priorities: ['normal'] });
  }
  async next(signal: AbortSignal) {
    return (await this.puller.next(signal))?.msg ?? null;
  }
  close() {
    this.puller.close();
  }
}
