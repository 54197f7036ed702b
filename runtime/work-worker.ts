/**
 * A pool of pullers for one work function (e.g. `encode.h264`): takes items
 * by priority, heartbeats them while the handler runs, and settles each one
 * by what the handler decides — ack, retry later (nak with delay) or never
 * again (term). A handler that throws gets a retry with backoff.
 */
import type { Priority } from '../schemas/common.js';
import { publishDeadLetter } from '../supervisor/dead-letters.js';
import type { Logger } from './logger.js';
import { PriorityPuller } from './priority-puller.js';
import type { RuntimeContext } from './runtime-context.js';
import type { WorkMessage } from './work-message.js';

export type Settlement = { ack: true } | { nakDelayMs: number } | { term: string };

export interface WorkContext {
  priority: Priority;
  /** Aborted when the worker stops (shutdown) — the item is then given back. */
  signal: AbortSignal;
  log: Logger;
}

export type WorkHandler = (msg: WorkMessage, wc: WorkContext) => Promise<Settlement>;

export interface WorkWorkerOptions {
  concurrency: number;
  /** Backoff for a handler that throws: base × 2^(delivery-1), capped at a minute. */
  retryBaseMs?: number;
}

export function retryBackoffMs(delivery: number, baseMs = 1_000): number {
  return Math.min(baseMs * 2 ** Math.max(0, delivery - 1), 60_000);
}

export class WorkWorker {
  private readonly stopping = new AbortController();
  private readonly interrupt = new AbortController();
  private loops: Promise<void>[] = [];
  private puller: PriorityPuller | null = null;
  private busy = 0;

  constructor(
    private readonly ctx: RuntimeContext,
    readonly fn: string,
    private readonly handler: WorkHandler,
    private readonly opts: WorkWorkerOptions,
  ) {}

  start(): void {
    this.puller = new PriorityPuller(this.ctx.nc, this.fn);
    for (let i = 0; i < this.opts.concurrency; i++) this.loops.push(this.loop(i));
  }

  /** Items being handled now. */
  get inFlight(): number {
    return this.busy;
  }

  /** Stops taking work; running items are interrupted after graceMs and given back for redelivery. */
  async stop(graceMs = 10_000): Promise<void> {
    this.stopping.abort();
    const timer = setTimeout(() => this.interrupt.abort(), graceMs);
    await Promise.all(this.loops);
    clearTimeout(timer);
    this.puller?.close();
  }

  private async loop(slot: number): Promise<void> {
    const log = this.ctx.log.child({ worker: this.fn, slot });
    while (!this.stopping.signal.aborted) {
      let taken;
      try {
        taken = await this.puller!.next(this.stopping.signal);
      } catch (e) {
        log.warn({ err: e }, 'pull failed; retrying');
        await new Promise((r) => setTimeout(r, 1_000));
        continue;
      }
      if (!taken) break;
      const { msg, priority } = taken;
      this.busy++;
      const heartbeat = setInterval(() => msg.working(), Math.max(250, Math.floor(this.ctx.topology.options.ackWaitMs / 3)));
      let s: Settlement;
      try {
        s = await this.handler(msg, { priority, signal: this.interrupt.signal, log });
      } catch (e) {
        log.warn({ err: e, delivery: msg.info.deliveryCount }, 'work item failed; it will be retried');
        s = { nakDelayMs: retryBackoffMs(msg.info.deliveryCount, this.opts.retryBaseMs) };
      } finally {
        clearInterval(heartbeat);
        this.busy--;
      }
      if ('ack' in s) await msg.ack().catch((e: unknown) => log.warn({ err: e }, 'ack not confirmed; the item may be redelivered (handlers are idempotent)'));
      else if ('term' in s) {
        await publishDeadLetter(this.ctx, { fn: this.fn, subject: msg.subject, data: msg.data, reason: s.term, deliveries: msg.info.deliveryCount }).catch((e: unknown) =>
          log.error({ err: e }, 'could not dead-letter a terminated item'),
        );
        msg.term(s.term.slice(0, 200));
      }
      else msg.nak(s.nakDelayMs);
    }
  }
}
