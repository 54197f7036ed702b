/**
 * Takes work from one durable pull consumer per priority class: `high` before
 * `normal` before `low`, with a bound that keeps lower classes from starving.
 * Works on nats-server 2.10 (no consumer priority groups needed).
 *
 * One puller serves a whole pool of actors: every actor waiting in `next()`
 * is demand, and one pump turns demand into batched no-wait pulls (batch =
 * actors waiting), so a message is only ever taken for an actor that is free
 * to start it at once — nothing sits in a local buffer without heartbeats.
 * A pool shares one wake-up subscription and one reply inbox.
 */
import { createInbox, type Msg, type NatsConnection, type Subscription } from '@nats-io/transport-node';
import { PRIORITIES, type Priority } from '../../schemas/common.js';
import { metrics } from '../core/mod.js';
import { STREAM_WORK, Subjects, workConsumer } from '../nats/mod.js';
import { parseAckSubject, WorkMessage } from './message.js';

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
  /** Largest batch one pull asks for (the server caps a pull at 256 by default). */
  maxBatch?: number;
}

export interface Taken {
  msg: WorkMessage;
  priority: Priority;
}

/** Pure: the order to try classes in, given how many takes each class has waited through. */
export function pullOrder(waited: Record<Priority, number>, bound: number): Priority[] {
  for (const p of [...PRIORITIES].reverse()) {
    if (p !== 'high' && waited[p] >= bound) return [p, ...PRIORITIES.filter((q) => q !== p)];
  }
  return [...PRIORITIES];
}

// no_wait alone is not enough: while earlier deliveries are unacked the server holds a no-wait
// request until something arrives; the short expiry bounds that (408). A partly filled batch
// ends at once with a 408; a filled one ends with its last message.
const PULL_EXPIRES_NS = 100_000_000;
const PULL_REPLY_TIMEOUT_MS = 5_000;
const NAK = new TextEncoder().encode('-NAK');
/** How long an item taken for a caller that left may wait for another caller (well inside any ack wait). */
const SPARE_MS = 500;
const te = new TextEncoder();

interface Waiter {
  resolve: (t: Taken | null) => void;
  reject: (e: unknown) => void;
  signal?: AbortSignal;
  onAbort: () => void;
}

export class PriorityPuller {
  private readonly bound: number;
  private readonly idlePollMs: number;
  private readonly maxBatch: number;
  private readonly stream: string;
  private readonly consumerFor: (p: Priority) => string;
  private readonly classes: readonly Priority[];
  /** Work function name for metrics; empty for non-work streams (the dead-letter keeper's advisories). */
  private readonly fn: string;
  private readonly waited: Record<Priority, number> = { high: 0, normal: 0, low: 0 };
  /** When each class was last found empty, and when a publish to it was last seen (from the wake-up subscription). */
  private readonly emptyAt: Record<Priority, number> = { high: -Infinity, normal: -Infinity, low: -Infinity };
  private readonly publishedAt: Record<Priority, number> = { high: -Infinity, normal: -Infinity, low: -Infinity };
  private readonly waiters: Waiter[] = [];
  private readonly sub: Subscription;
  private inbox = createInbox();
  private inboxSub: Subscription;
  /** The pull in flight: its reply handler. */
  private pending: ((m: Msg) => void) | null = null;
  private wake: (() => void) | null = null;
  private pumping = false;
  private pumpScheduled = false;
  private closed = false;
  /**
   * Items whose caller left while their pull was in flight (an actor retired): the next caller gets
   * them at once; one left over after SPARE_MS is given back. A nak would count as a delivery.
   */
  private readonly spares: { taken: Taken; at: number }[] = [];
  private spareTimer: ReturnType<typeof setTimeout> | null = null;

  constructor(
    private readonly nc: NatsConnection,
    fn: string,
    opts: PullerOptions = {},
  ) {
    this.bound = opts.starvationBound ?? 8;
    this.idlePollMs = opts.idlePollMs ?? 1_000;
    this.maxBatch = Math.max(1, Math.min(256, opts.maxBatch ?? 256));
    this.stream = opts.stream ?? STREAM_WORK;
    this.consumerFor = opts.consumerFor ?? ((p) => workConsumer(fn, p));
    this.classes = opts.priorities ?? PRIORITIES;
    this.fn = opts.stream === undefined || opts.stream === STREAM_WORK ? fn : '';
    this.inboxSub = this.subscribeInbox();
    // JetStream publishes are ordinary NATS messages too: a core subscription on the work subjects is a cheap wake-up bell.
    this.sub = nc.subscribe(opts.wakeSubject ?? Subjects.workOf(fn), {
      callback: (_e, m) => {
        const p = m.subject.slice(m.subject.lastIndexOf('.') + 1) as Priority;
        if (p in this.publishedAt) this.publishedAt[p] = Date.now();
        this.wake?.();
      },
    });
  }

  /** Actors waiting for work now. */
  get waiting(): number {
    return this.waiters.length;
  }

  /**
   * Next work message in priority order for one caller; any number of callers
   * may wait at once. Null if `signal` aborts (or the puller closes) first.
   * Rejects only on connection errors.
   */
  next(signal?: AbortSignal): Promise<Taken | null> {
    if (signal?.aborted || this.closed) return Promise.resolve(null);
    const spare = this.spares.shift();
    if (spare) return Promise.resolve(spare.taken);
    return new Promise<Taken | null>((resolve, reject) => {
      const w: Waiter = {
        resolve,
        reject,
        signal,
        onAbort: () => {
          const i = this.waiters.indexOf(w);
          if (i >= 0) this.waiters.splice(i, 1);
          resolve(null);
        },
      };
      signal?.addEventListener('abort', w.onAbort, { once: true });
      this.waiters.push(w);
      this.wake?.();
      this.schedulePump();
    });
  }

  /**
   * Starts the pump after the current I/O callbacks: actors freed by one burst
   * of replies (one socket read) then share one pull instead of one pull each.
   */
  private schedulePump(): void {
    if (this.pumping || this.pumpScheduled) return;
    this.pumpScheduled = true;
    setImmediate(() => {
      this.pumpScheduled = false;
      void this.pump();
    });
  }

  close(): void {
    this.closed = true;
    this.wake?.();
    for (const w of this.waiters.splice(0)) this.settle(w, null);
    for (const s of this.spares.splice(0)) s.taken.msg.nak();
    if (this.spareTimer) clearTimeout(this.spareTimer);
    this.sub.unsubscribe();
    this.inboxSub.unsubscribe();
  }

  private settle(w: Waiter, t: Taken | null): void {
    w.signal?.removeEventListener('abort', w.onAbort);
    w.resolve(t);
  }

  /** Replies come to this puller's own inbox subscription: JetStream delivers a pulled message under its stream subject, so the connection's shared request inbox cannot route it. */
  private subscribeInbox(): Subscription {
    return this.nc.subscribe(this.inbox, { callback: (_e, m) => this.onReply(m) });
  }

  /** A reply with no pull waiting (a late one after a time-out): a real message is given back at once. */
  private onReply(m: Msg): void {
    if (this.pending) return this.pending(m);
    if (m.reply && !m.headers?.code) this.nc.publish(m.reply, NAK);
  }

  /** One no-wait pull of up to `n` messages of class `p`; fewer (or none) when the consumer has fewer ready. */
  private pullBatch(p: Priority, n: number): Promise<WorkMessage[]> {
    const api = `$JS.API.CONSUMER.MSG.NEXT.${this.stream}.${this.consumerFor(p)}`;
    return new Promise<WorkMessage[]>((resolve, reject) => {
      const got: WorkMessage[] = [];
      const finish = () => {
        clearTimeout(timer);
        this.pending = null;
        resolve(got);
      };
      const timer = setTimeout(() => {
        // No answer at all (a disconnect): replies of this pull that still come would be mistaken for the next
        // pull's, so the next pull gets a fresh inbox; late messages on the old one are given back.
        const old = this.inboxSub;
        finish();
        if (this.closed || this.nc.isClosed()) return;
        this.inbox = createInbox();
        this.inboxSub = this.subscribeInbox();
        setTimeout(() => old.unsubscribe(), PULL_REPLY_TIMEOUT_MS).unref?.();
      }, PULL_REPLY_TIMEOUT_MS);
      this.pending = (m) => {
        // 404 No Messages / 408 Request Timeout / 409 arrive as header-only status messages and end the pull.
        if (!m.reply || m.headers?.code) return finish();
        const info = parseAckSubject(m.reply);
        if (info) got.push(new WorkMessage(this.nc, m, info));
        if (got.length >= n) finish();
      };
      try {
        this.nc.publish(api, te.encode(JSON.stringify({ batch: n, no_wait: true, expires: PULL_EXPIRES_NS })), { reply: this.inbox });
      } catch (e) {
        clearTimeout(timer);
        this.pending = null;
        reject(e);
      }
    });
  }

  /** Turns waiting callers into pulls until none is left waiting. One pump runs at a time. */
  private async pump(): Promise<void> {
    if (this.pumping) return;
    this.pumping = true;
    try {
      while (this.waiters.length > 0 && !this.closed) {
        if (!(await this.round())) await this.idle();
      }
    } catch (e) {
      for (const w of this.waiters.splice(0)) {
        w.signal?.removeEventListener('abort', w.onAbort);
        w.reject(e);
      }
    } finally {
      this.pumping = false;
    }
  }

  /** One pass over the classes in priority order; true if it took anything. */
  private async round(): Promise<boolean> {
    const order = pullOrder(this.waited, this.bound).filter((q) => this.classes.includes(q));
    const natural = PRIORITIES.filter((q) => this.classes.includes(q));
    for (const [i, p] of order.entries()) {
      if (this.waiters.length === 0) return true;
      // Skip a class found empty with nothing published to it since, unless the finding is stale
      // (a nak'd item comes back without a publish): saves a round trip per take.
      const now = Date.now();
      if (this.emptyAt[p] > this.publishedAt[p] && now - this.emptyAt[p] < this.idlePollMs) continue;
      // A starved class moved to the front gets one take, not a whole batch.
      const want = i === 0 && p !== natural[0] ? 1 : Math.min(this.maxBatch, this.waiters.length);
      const msgs = await this.pullBatch(p, want);
      for (const msg of msgs) this.handOut(msg, p);
      if (msgs.length < want) {
        this.waited[p] = 0; // confirmed empty: nothing of this class is waiting
        this.emptyAt[p] = Date.now();
      } else this.emptyAt[p] = -Infinity;
      // Took something: start again from the top, so a higher class published meanwhile goes first.
      if (msgs.length > 0) return true;
    }
    return false;
  }

  private handOut(msg: WorkMessage, p: Priority): void {
    this.waited[p] = 0;
    for (const q of PRIORITIES) if (q !== p) this.waited[q]++;
    if (this.fn && msg.info.deliveryCount === 1) metrics.workQueueWait.observe({ function: this.fn, priority: p }, Math.max(0, Date.now() - msg.info.storedAtMs) / 1000);
    const w = this.waiters.shift();
    if (w) return this.settle(w, { msg, priority: p });
    // The caller left while the pull was in flight (it retired, or the pool is stopping): keep the item briefly for the next one.
    this.spares.push({ taken: { msg, priority: p }, at: Date.now() });
    this.spareTimer ??= setTimeout(() => this.expireSpares(), SPARE_MS);
  }

  /** Gives back spares nobody took in time. */
  private expireSpares(): void {
    this.spareTimer = null;
    const now = Date.now();
    while (this.spares.length && now - this.spares[0]!.at >= SPARE_MS) this.spares.shift()!.taken.msg.nak();
    if (this.spares.length) this.spareTimer = setTimeout(() => this.expireSpares(), SPARE_MS - (now - this.spares[0]!.at));
  }

  /** Waits for a wake-up (a publish, a new caller, close) or the idle poll. */
  private idle(): Promise<void> {
    return new Promise<void>((resolve) => {
      const t = setTimeout(done, this.idlePollMs);
      const self = this;
      function done() {
        clearTimeout(t);
        if (self.wake === done) self.wake = null;
        resolve();
      }
      this.wake = done;
    });
  }
}
