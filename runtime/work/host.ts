/**
 * A pool of actors for one work function (e.g. `encode.h264`): each takes
 * items by priority, heartbeats them while the handler runs, and settles each
 * one by what the handler decides — ack, retry later (nak with delay) or never
 * again (dead-letter, then term). The pool's size can change at run time
 * (the supervisor's lever); a retired actor finishes its current item first.
 * A handler that throws (or reports a crash) is an actor crash: it restarts
 * after an exponential backoff, and past the restart intensity the pool
 * escalates — it stops and reports, as an OTP supervisor does.
 */
import { setMaxListeners } from 'node:events';
import type { Priority } from '../../schemas/common.js';
import { publishDeadLetter } from '../../supervisor/dead-letters.js';
import { restartPolicy } from '../../supervisor/autoscaler.js';
import { type Logger, metrics } from '../core/mod.js';
import { PriorityPuller } from './puller.js';
import type { RuntimeContext } from '../nats/mod.js';
import type { WorkMessage } from './message.js';

export type Settlement = ({ ack: true } | { nakDelayMs: number } | { term: string }) & {
  /** The actor crashed doing it (its tool died, say): counts against the restart intensity. */
  crashed?: boolean;
};

export interface WorkContext {
  priority: Priority;
  /** Aborted when the worker stops (shutdown) — the item is then given back. */
  signal: AbortSignal;
  log: Logger;
}

export type WorkHandler = (msg: WorkMessage, wc: WorkContext) => Promise<Settlement>;

export interface RestartIntensity {
  maxRestarts: number;
  periodMs: number;
  baseBackoffMs: number;
  maxBackoffMs: number;
}

export const DEFAULT_INTENSITY: RestartIntensity = { maxRestarts: 5, periodMs: 60_000, baseBackoffMs: 200, maxBackoffMs: 10_000 };

export interface WorkWorkerOptions {
  concurrency: number;
  /** Backoff for a handler that throws: base × 2^(delivery-1), capped at a minute. */
  retryBaseMs?: number;
  intensity?: RestartIntensity;
  /** Called once when the pool escalates (it has stopped all its actors). */
  onEscalate?: (reason: string) => void;
}

export function retryBackoffMs(delivery: number, baseMs = 1_000): number {
  return Math.min(baseMs * 2 ** Math.max(0, delivery - 1), 60_000);
}

/** A signal aborted by either; `release` removes its listeners (actors come and go all day). */
function either(a: AbortSignal, b: AbortSignal): { signal: AbortSignal; release: () => void } {
  const c = new AbortController();
  const abort = () => c.abort();
  if (a.aborted || b.aborted) abort();
  a.addEventListener('abort', abort, { once: true });
  b.addEventListener('abort', abort, { once: true });
  return {
    signal: c.signal,
    release: () => {
      a.removeEventListener('abort', abort);
      b.removeEventListener('abort', abort);
    },
  };
}

const sleep = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve) => {
    const t = setTimeout(resolve, ms);
    signal.addEventListener('abort', () => (clearTimeout(t), resolve()), { once: true });
  });

interface Slot {
  retire: AbortController;
  done: Promise<void>;
}

export class WorkWorker {
  private readonly stopping = new AbortController();
  private readonly interrupt = new AbortController();
  private readonly slots: Slot[] = [];
  private readonly retiring = new Set<Promise<void>>();
  private busy = 0;
  private restarts: number[] = [];
  /** The pool's one mailbox reader: every idle actor waits on it, and it pulls in batches of idle actors. */
  private puller: PriorityPuller | null = null;
  private escalatedReason: string | null = null;
  private escalatedAtMs: number | null = null;

  constructor(
    private readonly ctx: RuntimeContext,
    readonly fn: string,
    private readonly handler: WorkHandler,
    private readonly opts: WorkWorkerOptions,
  ) {
    // Every actor listens on these, and so may every item it runs: a pool of 64 is not a listener leak.
    setMaxListeners(0, this.stopping.signal, this.interrupt.signal);
  }

  start(): void {
    this.puller ??= new PriorityPuller(this.ctx.nc, this.fn);
    this.setConcurrency(this.opts.concurrency);
  }

  /** Actors now (not counting retiring ones still finishing an item). */
  get actors(): number {
    return this.slots.length;
  }

  /** Items being handled now. */
  get inFlight(): number {
    return this.busy;
  }

  get escalated(): string | null {
    return this.escalatedReason;
  }

  /** When the pool escalated (ms since the epoch), or null. */
  get escalatedAt(): number | null {
    return this.escalatedAtMs;
  }

  /** Lets an escalated pool run again with a clean restart history (the caller then sets its size). */
  reset(): void {
    this.escalatedReason = null;
    this.escalatedAtMs = null;
    this.restarts = [];
  }

  /** Grows or shrinks the pool; shrinking retires the newest actors after their current item. */
  setConcurrency(n: number): void {
    const target = this.escalatedReason || this.stopping.signal.aborted ? 0 : Math.max(0, n);
    while (this.slots.length < target) {
      const retire = new AbortController();
      const slot: Slot = { retire, done: Promise.resolve() };
      slot.done = this.loop(this.slots.length, retire.signal);
      this.slots.push(slot);
    }
    while (this.slots.length > target) {
      const slot = this.slots.pop()!;
      slot.retire.abort();
      this.retiring.add(slot.done);
      void slot.done.then(() => this.retiring.delete(slot.done));
    }
  }

  /** Stops taking work; running items are interrupted after graceMs and given back for redelivery. */
  async stop(graceMs = 10_000): Promise<void> {
    this.stopping.abort();
    const timer = setTimeout(() => this.interrupt.abort(), graceMs);
    await Promise.all([...this.slots.map((s) => s.done), ...this.retiring]);
    clearTimeout(timer);
    this.puller?.close();
    this.puller = null;
  }

  private crashed(log: Logger, why: string, signal: AbortSignal): Promise<void> {
    metrics.actorRestarts.inc({ role: 'encoder', function: this.fn });
    const r = restartPolicy(this.restarts, Date.now(), this.opts.intensity ?? DEFAULT_INTENSITY);
    this.restarts = r.restarts;
    if (r.escalate && !this.escalatedReason) {
      this.escalatedReason = `${r.restarts.length} actor crashes within ${(this.opts.intensity ?? DEFAULT_INTENSITY).periodMs / 1000} s; last: ${why}`;
      this.escalatedAtMs = Date.now();
      metrics.actorEscalations.inc({ function: this.fn });
      log.error({ reason: this.escalatedReason }, 'restart intensity exceeded: pool stopped (escalated)');
      this.setConcurrency(0);
      this.opts.onEscalate?.(this.escalatedReason);
      return Promise.resolve();
    }
    log.warn({ backoffMs: r.backoffMs, why }, 'actor crashed; restarting after backoff');
    return sleep(r.backoffMs, signal);
  }

  private async loop(slot: number, retire: AbortSignal): Promise<void> {
    const log = this.ctx.log.child({ worker: this.fn, slot });
    const { signal, release } = either(this.stopping.signal, retire);
    try {
      if (this.puller) await this.run(log, signal, this.puller);
    } finally {
      release();
    }
  }

  private async run(log: Logger, signal: AbortSignal, puller: PriorityPuller): Promise<void> {
    while (!signal.aborted) {
      let taken;
      try {
        taken = await puller.next(signal);
      } catch (e) {
        log.warn({ err: e }, 'pull failed; retrying');
        await sleep(1_000, signal);
        continue;
      }
      if (!taken) break;
      const { msg, priority } = taken;
      this.busy++;
      const heartbeat = setInterval(() => msg.working(), Math.max(250, Math.floor(this.ctx.topology.options.ackWaitMs / 3)));
      let s: Settlement;
      let crash: string | null = null;
      try {
        s = await this.handler(msg, { priority, signal: this.interrupt.signal, log });
        if (s.crashed) crash = 'the handler reported a crash';
      } catch (e) {
        crash = e instanceof Error ? e.message : String(e);
        log.warn({ err: e, delivery: msg.info.deliveryCount }, 'work item failed; it will be retried');
        s = { nakDelayMs: retryBackoffMs(msg.info.deliveryCount, this.opts.retryBaseMs) };
      } finally {
        clearInterval(heartbeat);
        this.busy--;
      }
      // Handlers are idempotent (a redelivered done item is skipped), so the ack need not be confirmed.
      if ('ack' in s) msg.ackNoWait();
      else if ('term' in s) {
        await publishDeadLetter(this.ctx, { fn: this.fn, subject: msg.subject, data: msg.data, reason: s.term, deliveries: msg.info.deliveryCount }).catch((e: unknown) =>
          log.error({ err: e }, 'could not dead-letter a terminated item'),
        );
        msg.term(s.term.slice(0, 200));
      } else msg.nak(s.nakDelayMs);
      if (crash) await this.crashed(log, crash, signal);
    }
  }
}
