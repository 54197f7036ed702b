/**
 * The one host for work: a pool of actors for one work function (a
 * service's job queue `vis`, or chunk work `encode.h264`). Each actor takes
 * items by priority from the pool's one puller, heartbeats them while the
 * handler runs, and settles each one by what the handler decides — ack,
 * retry later (nak with delay), never again (dead-letter, then term), or
 * leave it (another instance owns it now). The pool's size can change at run
 * time (the supervisor's lever); a retired actor finishes its current item
 * first.
 *
 * Heartbeats follow the work, not a timer: in `progress` mode an item is
 * kept alive only while its handler reports progress (ffmpeg's `-progress`
 * lines), so a hung tool stops being heartbeated and the item goes to
 * another actor after the ack wait. `alive` mode heartbeats for as long as
 * the handler runs (a job's actor waiting for its chunks).
 *
 * A crash (a handler that throws, or reports `crashed`) is told to the
 * pool's crash policy, which the supervisor plugs in: it says how long the
 * actor waits before it takes work again, or that the pool escalates (stops
 * and reports, as an OTP supervisor does). Slow work — a time-out, a stall —
 * is retryable but is not a crash, and never escalates a pool.
 */
import { setMaxListeners } from 'node:events';
import type { Priority } from '../../schemas/common.js';
import { type Logger, metrics, RetryPolicies, type RetryPolicy, sleep } from '../core/mod.js';
import type { RuntimeContext } from '../nats/mod.js';
import type { WorkMessage } from './message.js';
import { PriorityPuller } from './puller.js';
import { type Reservation, type Reservations, type Shape, UNLIMITED } from './shape.js';

export type Settlement = (
  | { ack: true }
  | { nakDelayMs: number }
  | { term: string }
  /** Neither ack nor nak: another instance owns the item now (a lost claim). */
  | { leave: true }
) & {
  /** The actor crashed doing it (its tool died, say): counts against the restart intensity. */
  crashed?: boolean;
};

export interface WorkContext {
  priority: Priority;
  /** Which delivery of the item this is (1 = the first). */
  delivery: number;
  /** Aborted when the host stops (shutdown) — the item is then given back. */
  signal: AbortSignal;
  log: Logger;
  /** Reports that the work is advancing (a progress line, a step): in `progress` mode, heartbeats go out only while this is called. */
  progress(): void;
  /**
   * Reserves the item's shape on the node (waiting, heartbeated, until it fits) and returns what was
   * granted: the work must then run with exactly `shape.cpus` threads, and release it when done.
   */
  reserve(shape: Shape): Promise<Reservation>;
}

export type WorkHandler = (msg: WorkMessage, wc: WorkContext) => Promise<Settlement>;

/** What a dead item is published as (the supervisor's dead-letter stream). */
export interface DeadItem {
  fn: string;
  subject: string;
  data: Uint8Array;
  reason: string;
  deliveries: number;
}

/** Decides what a crash costs: a wait before the actor takes work again, or escalation. Plugged in by the supervisor. */
export interface CrashPolicy {
  crashed(why: string, now: number): { backoffMs: number } | { escalate: string };
  /** Forgets past crashes (an escalated pool let run again). */
  reset(): void;
}

export interface WorkHostOptions {
  concurrency: number;
  /** `progress`: heartbeat only while the handler reports progress; `alive` (default): while it runs. */
  heartbeat?: 'progress' | 'alive';
  /** Delay before a handler that threw is retried (default RetryPolicies.chunk). */
  retry?: RetryPolicy;
  /** Where terminated items go with their reason (default: nowhere, they are only terminated). */
  deadLetter?: (d: DeadItem) => Promise<void>;
  /** Crashes without a policy only cost their retry delay: nothing escalates. */
  crashPolicy?: CrashPolicy;
  /** Called once when the pool escalates (it has stopped all its actors). */
  onEscalate?: (reason: string) => void;
  /** The node's ledger that items reserve their shapes from (default: unlimited). */
  reservations?: Reservations;
  /** Metrics label for the pool's role. */
  role?: string;
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

/** The shortest silence that withholds heartbeats in `progress` mode. */
const MIN_SILENCE_MS = 3_000;

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
  /** The pool's one mailbox reader: every idle actor waits on it, and it pulls in batches of idle actors. */
  private puller: PriorityPuller | null = null;
  private escalatedReason: string | null = null;
  private escalatedAtMs: number | null = null;
  private lastShape: Shape | null = null;

  constructor(
    private readonly ctx: RuntimeContext,
    readonly fn: string,
    private readonly handler: WorkHandler,
    private readonly opts: WorkHostOptions,
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

  /** The shape this pool's items reserved last (null before the first): what one more actor is likely to take. */
  get recentShape(): Shape | null {
    return this.lastShape;
  }

  /** Lets an escalated pool run again with a clean restart history (the caller then sets its size). */
  reset(): void {
    this.escalatedReason = null;
    this.escalatedAtMs = null;
    this.opts.crashPolicy?.reset();
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

  /** Counts a crash; waits the policy's backoff, or escalates the pool. */
  private crashed(log: Logger, why: string, signal: AbortSignal): Promise<void> {
    metrics.actorRestarts.inc({ role: this.opts.role ?? 'encoder', function: this.fn });
    const verdict = this.opts.crashPolicy?.crashed(why, Date.now());
    if (!verdict) return Promise.resolve();
    if ('escalate' in verdict) {
      if (this.escalatedReason) return Promise.resolve();
      this.escalatedReason = verdict.escalate;
      this.escalatedAtMs = Date.now();
      metrics.actorEscalations.inc({ function: this.fn });
      log.error({ reason: this.escalatedReason }, 'restart intensity exceeded: pool stopped (escalated)');
      this.setConcurrency(0);
      this.opts.onEscalate?.(this.escalatedReason);
      return Promise.resolve();
    }
    log.warn({ backoffMs: verdict.backoffMs, why }, 'actor crashed; restarting after backoff');
    return sleep(verdict.backoffMs, signal);
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
    let pullFailures = 0;
    while (!signal.aborted) {
      let taken;
      try {
        taken = await puller.next(signal);
        pullFailures = 0;
      } catch (e) {
        const wait = RetryPolicies.poll.delayMs(++pullFailures);
        log.warn({ err: e, waitMs: wait }, 'pull failed; retrying');
        await sleep(wait, signal);
        continue;
      }
      if (!taken) break;
      const { msg, priority } = taken;
      const delivery = msg.info.deliveryCount;
      this.busy++;
      const beat = this.heartbeat(msg, log);
      let s: Settlement;
      let crash: string | null = null;
      try {
        const reserve = async (shape: Shape): Promise<Reservation> => {
          // Waiting for room on the node is not a hang: the item stays heartbeated meanwhile.
          beat.hold(true);
          try {
            const r = await (this.opts.reservations ?? UNLIMITED).reserve(this.fn, shape, this.interrupt.signal);
            this.lastShape = r.shape;
            return r;
          } finally {
            beat.hold(false);
          }
        };
        s = await this.handler(msg, { priority, delivery, signal: this.interrupt.signal, log, progress: beat.progress, reserve });
        if (s.crashed) crash = 'the handler reported a crash';
      } catch (e) {
        crash = e instanceof Error ? e.message : String(e);
        log.warn({ err: e, delivery }, 'work item failed; it will be retried');
        s = { nakDelayMs: (this.opts.retry ?? RetryPolicies.chunk).delayMs(delivery) };
      } finally {
        beat.stop();
        this.busy--;
      }
      await this.settle(msg, s, log);
      if (crash) await this.crashed(log, crash, signal);
    }
  }

  /**
   * The item's heartbeat, every third of the ack wait: while the handler runs (`alive`), or while it
   * reports progress (`progress`: sent only if progress came within the last half ack wait, at least 3 s). A hung tool
   * thus goes unheartbeated, and JetStream gives its item to another actor one ack wait later.
   */
  private heartbeat(msg: WorkMessage, log: Logger): { progress: () => void; hold: (on: boolean) => void; stop: () => void } {
    const ackWaitMs = this.ctx.topology.options.ackWaitMs;
    const everyMs = Math.max(250, Math.floor(ackWaitMs / 3));
    // Tools report activity about once a second (output lines, CPU samples): a few seconds of silence is not yet a hang.
    const silenceMs = Math.max(MIN_SILENCE_MS, Math.floor(ackWaitMs / 2));
    const byProgress = this.opts.heartbeat === 'progress';
    // Taking the item counts as progress: the handler gets a half ack wait to report its own.
    let lastProgress = Date.now();
    let withheldSince: number | null = null;
    let held = false;
    const timer = setInterval(() => {
      if (!byProgress || held || Date.now() - lastProgress < silenceMs) {
        msg.working();
        return;
      }
      if (withheldSince === null) {
        withheldSince = Date.now();
        metrics.heartbeatsWithheld.inc({ function: this.fn });
        log.warn({ subject: msg.subject, delivery: msg.info.deliveryCount, silentMs: Date.now() - lastProgress }, 'no progress from the work: heartbeats withheld, the item goes to another actor after the ack wait');
      }
    }, everyMs);
    return {
      progress: () => {
        lastProgress = Date.now();
        if (withheldSince !== null) log.info({ withheldMs: lastProgress - withheldSince }, 'the work is progressing again; heartbeats resume');
        withheldSince = null;
      },
      hold: (on) => {
        held = on;
        lastProgress = Date.now();
      },
      stop: () => clearInterval(timer),
    };
  }

  private async settle(msg: WorkMessage, s: Settlement, log: Logger): Promise<void> {
    // Handlers are idempotent (a redelivered done item is skipped), so the ack need not be confirmed.
    if ('ack' in s) return msg.ackNoWait();
    if ('leave' in s) return;
    if ('nakDelayMs' in s) return msg.nak(s.nakDelayMs);
    if (this.opts.deadLetter) {
      await this.opts
        .deadLetter({ fn: this.fn, subject: msg.subject, data: msg.data, reason: s.term, deliveries: msg.info.deliveryCount })
        .catch((e: unknown) => log.error({ err: e }, 'could not dead-letter a terminated item'));
    }
    msg.term(s.term.slice(0, 200));
  }
}
