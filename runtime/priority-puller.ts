/**
 * Takes work from one durable pull consumer per priority class: `high` before
 * `normal` before `low`, with a bound that keeps lower classes from starving.
 * Works on nats-server 2.10 (no consumer priority groups needed).
 */
import { createInbox, type Msg, type NatsConnection, type Subscription } from '@nats-io/transport-node';
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

// no_wait alone is not enough: a request that arrives while another one is taking the last message
// can be held by the server until the next message comes. The short expiry bounds that (408).
const NO_WAIT_ONE = new TextEncoder().encode(JSON.stringify({ batch: 1, no_wait: true, expires: 100_000_000 }));

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
  /** When each class was last found empty, and when a publish to it was last seen (from the wake-up subscription). */
  private readonly emptyAt: Record<Priority, number> = { high: -Infinity, normal: -Infinity, low: -Infinity };
  private readonly publishedAt: Record<Priority, number> = { high: -Infinity, normal: -Infinity, low: -Infinity };
  private readonly sub: Subscription;
  private readonly inbox = createInbox();
  private readonly inboxSub: Subscription;
  private pending: ((m: Msg) => void) | null = null;

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
    this.inboxSub = nc.subscribe(this.inbox, { callback: (_e, m) => this.onReply(m) });
    this.sub = nc.subscribe(opts.wakeSubject ?? `vpipe.work.${fn}.*`, {
      callback: (_e, m) => {
        const p = m.subject.slice(m.subject.lastIndexOf('.') + 1) as Priority;
        if (p in this.publishedAt) this.publishedAt[p] = Date.now();
        this.wake?.();
      },
    });
  }

  /**
   * One no-wait pull: a message, or null when the consumer has nothing ready.
   * Replies come to this puller's own inbox subscription (JetStream delivers
   * a pulled message under its stream subject, so the connection's shared
   * request inbox cannot route it); one pull is outstanding at a time.
   */
  private async pullOne(p: Priority): Promise<WorkMessage | null> {
    const api = `$JS.API.CONSUMER.MSG.NEXT.${this.stream}.${this.consumerFor(p)}`;
    const reply = new Promise<Msg | null>((resolve) => {
      const t = setTimeout(() => {
        this.pending = null;
        resolve(null);
      }, 5_000);
      this.pending = (m) => {
        clearTimeout(t);
        this.pending = null;
        resolve(m);
      };
    });
    this.nc.publish(api, NO_WAIT_ONE, { reply: this.inbox });
    const m = await reply;
    // 404 No Messages / 408 Request Timeout arrive as header-only status messages.
    if (!m || !m.reply || m.headers?.code) return null;
    const info = parseAckSubject(m.reply);
    return info ? new WorkMessage(this.nc, m, info) : null;
  }

  /** A reply with no pull waiting (a late one after a time-out): a real message is given back at once. */
  private onReply(m: Msg): void {
    if (this.pending) return this.pending(m);
    if (m.reply && !m.headers?.code) this.nc.publish(m.reply, new TextEncoder().encode('-NAK'));
  }

  /** Next work message in priority order; null if `signal` aborts first. Throws only on connection errors. */
  async next(signal?: AbortSignal): Promise<{ msg: WorkMessage; priority: Priority } | null> {
    while (!signal?.aborted) {
      const now = Date.now();
      for (const p of pullOrder(this.waited, this.bound).filter((q) => this.classes.includes(q))) {
        // Skip a class found empty with nothing published to it since, unless the finding is stale
        // (a nak'd item comes back without a publish): saves a round trip per take.
        if (this.emptyAt[p] > this.publishedAt[p] && now - this.emptyAt[p] < this.idlePollMs) continue;
        const msg = await this.pullOne(p);
        if (msg) {
          this.emptyAt[p] = -Infinity;
          this.waited[p] = 0;
          for (const q of PRIORITIES) if (q !== p) this.waited[q]++;
          return { msg, priority: p };
        }
        this.waited[p] = 0; // confirmed empty: nothing of this class is waiting
        this.emptyAt[p] = Date.now();
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
    this.inboxSub.unsubscribe();
  }
}

