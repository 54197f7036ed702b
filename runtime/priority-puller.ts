/**
 * Takes work from one durable pull consumer per priority class: `high` before
 * `normal` before `low`, with a bound that keeps lower classes from starving.
 * Works on nats-server 2.10 (no consumer priority groups needed).
 */
import { createInbox, type NatsConnection, type Subscription } from '@nats-io/transport-node';
import { PRIORITIES, type Priority } from '../schemas/common.js';
import { STREAM_WORK, workConsumer } from './topology.js';
import { parseAckSubject, WorkMessage } from './work-message.js';

export interface PullerOptions {
  /** After this many takes of a higher class, a waiting lower class is tried first once. */
  starvationBound?: number;
  /** Longest idle wait before polling again when no wake-up arrives. */
  idlePollMs?: number;
  stream?: string;
  /** Durable consumer of a class (default `work_<fn>_<priority>`). */
  consumerFor?: (p: Priority) => string;
  /** Core subject whose messages wake an idle puller (default `vpipe.work.<fn>.*`). */
  wakeSubject?: string;
  /** Classes to pull, in order (default high, normal, low). */
  priorities?: readonly Priority[];
}

/** Pure: the order to try classes in, given how many takes each class has waited through. */
export function pullOrder(waited: Record<Priority, number>, bound: number): Priority[] {
  for (const p of [...PRIORITIES].reverse()) {
    if (p !== 'high' && waited[p] >= bound) return [p, ...PRIORITIES.filter((q) => q !== p)];
  }
  return [...PRIORITIES];
}

export class PriorityPuller {
  private readonly bound: number;
  private readonly idlePollMs: number;
  private readonly stream: string;
  private readonly consumerFor: (p: Priority) => string;
  private readonly classes: readonly Priority[];
  private readonly waited: Record<Priority, number> = { high: 0, normal: 0, low: 0 };
  private wake: (() => void) | null = null;
  private readonly sub: Subscription;

  constructor(
    private readonly nc: NatsConnection,
    fn: string,
    opts: PullerOptions = {},
  ) {
    this.bound = opts.starvationBound ?? 8;
    this.idlePollMs = opts.idlePollMs ?? 1_000;
    this.stream = opts.stream ?? STREAM_WORK;
    this.consumerFor = opts.consumerFor ?? ((p) => workConsumer(fn, p));
    this.classes = opts.priorities ?? PRIORITIES;
    // JetStream publishes are ordinary NATS messages too: a core subscription on the work subjects is a cheap wake-up bell.
    this.sub = nc.subscribe(opts.wakeSubject ?? `vpipe.work.${fn}.*`, { callback: () => this.wake?.() });
  }

  /** One no-wait pull: a message, or null when the consumer has nothing ready. */
  private async pullOne(p: Priority): Promise<WorkMessage | null> {
    const api = `$JS.API.CONSUMER.MSG.NEXT.${this.stream}.${this.consumerFor(p)}`;
    const inbox = createInbox();
    const sub = this.nc.subscribe(inbox, { max: 1, timeout: 5_000 });
    this.nc.publish(api, new TextEncoder().encode(JSON.stringify({ batch: 1, no_wait: true })), { reply: inbox });
    for await (const m of sub) {
      // 404 No Messages / 408 Request Timeout arrive as header-only status messages.
      if (!m.reply || m.headers?.code) return null;
      const info = parseAckSubject(m.reply);
      return info ? new WorkMessage(this.nc, m, info) : null;
    }
    return null;
  }

  /** Next work message in priority order; null if `signal` aborts first. Throws only on connection errors. */
  async next(signal?: AbortSignal): Promise<{ msg: WorkMessage; priority: Priority } | null> {
    while (!signal?.aborted) {
      for (const p of pullOrder(this.waited, this.bound).filter((q) => this.classes.includes(q))) {
        const msg = await this.pullOne(p).catch((e: unknown) => {
          if ((e as { name?: string }).name === 'TimeoutError') return null;
          throw e;
        });
        if (msg) {
          this.waited[p] = 0;
          for (const q of PRIORITIES) if (q !== p) this.waited[q]++;
          return { msg, priority: p };
        }
        this.waited[p] = 0; // confirmed empty: nothing of this class is waiting
      }
      await new Promise<void>((resolve) => {
        const t = setTimeout(done, this.idlePollMs);
        const onAbort = () => done();
        signal?.addEventListener('abort', onAbort, { once: true });
        function done() {
          clearTimeout(t);
          signal?.removeEventListener('abort', onAbort);
          resolve();
        }
        this.wake = done;
      });
      this.wake = null;
    }
    return null;
  }

  close(): void {
    this.sub.unsubscribe();
  }
}

