/**
 * The workflow layer's host: pulls job work items by priority, runs one
 * XState actor per job, persists the actor's snapshot after every step, and
 * publishes the result once. A redelivered job (its process died) resumes
 * from its last snapshot; steps must be idempotent because XState re-runs a
 * pending promise actor when it restores one.
 */
import { createActor, type Snapshot } from 'xstate';
import { z } from 'zod';
import { isFinal, type ErrorBody } from '../../schemas/api.js';
import { ErrorCodes, metrics, VpipeError } from '../core/mod.js';
import { JobStore, type JobRecord, type Versioned } from './store.js';
import { PriorityPuller, retryBackoffMs, type WorkMessage } from '../work/mod.js';
import { publishProgress, publishResult } from './results.js';
import { decodeInternal, type RuntimeContext } from '../nats/mod.js';
import type { JobOutput, ServiceDefinition } from './service-definition.js';
import { cancelControlSubject } from './api-layer.js';

const WorkItem = z.object({ jobId: z.string() });

export interface RunnerOptions {
  /** Jobs this process runs at once. */
  concurrency?: number;
  /** Backoff before a retryable failure is tried again: base × 2^(delivery-1), capped. */
  retryBaseMs?: number;
  progressIntervalMs?: number;
}

interface Running {
  abort: AbortController;
  cancelled: boolean;
  /** The delivery being worked on: replaced when the same job is redelivered to this process. */
  msg: WorkMessage;
  /** Another instance took the job over (our claim is gone): stop without settling the message. */
  lost: boolean;
}

export class JobRunner {
  private readonly store: JobStore;
  private readonly log;
  private readonly running = new Map<string, Running>();
  private readonly stopping = new AbortController();
  private loops: Promise<void>[] = [];
  private ctlSub: { unsubscribe(): void } | null = null;
  private puller: PriorityPuller | null = null;

  constructor(
    private readonly ctx: RuntimeContext,
    private readonly def: ServiceDefinition,
    private readonly opts: RunnerOptions = {},
  ) {
    this.store = new JobStore(ctx.topology.jobs, def.id);
    this.log = ctx.log.child({ service: def.id, layer: 'workflow' });
  }

  start(): void {
    this.ctlSub = this.ctx.nc.subscribe(cancelControlSubject(this.def.id), {
      callback: (_e, m) => {
        try {
          const { jobId } = decodeInternal(WorkItem, m.data);
          const r = this.running.get(jobId);
          if (r) {
            r.cancelled = true;
            r.abort.abort();
          }
        } catch {
          /* a malformed control message is ignored */
        }
      },
    });
    const n = this.opts.concurrency ?? 1;
    // The loops share one puller: it pulls in batches of loops that are free.
    const puller = new PriorityPuller(this.ctx.nc, this.def.id);
    this.puller = puller;
    for (let i = 0; i < n; i++) this.loops.push(this.pullAndRun(puller));
  }

  /** Stops taking work, lets running jobs finish for up to graceMs, then interrupts them (they resume elsewhere from their snapshot). */
  async stop(graceMs = 10_000): Promise<void> {
    this.stopping.abort();
    const all = Promise.all(this.loops);
    const timer = setTimeout(() => {
      for (const r of this.running.values()) r.abort.abort();
    }, graceMs);
    await all;
    clearTimeout(timer);
    this.puller?.close();
    this.ctlSub?.unsubscribe();
  }

  private async pullAndRun(puller: PriorityPuller): Promise<void> {
    while (!this.stopping.signal.aborted) {
      let taken;
      try {
        taken = await puller.next(this.stopping.signal);
      } catch (e) {
        this.log.warn({ err: e }, 'pull failed; retrying');
        await new Promise((r) => setTimeout(r, 1_000));
        continue;
      }
      if (!taken) break;
      await this.handle(taken.msg).catch((e: unknown) => {
        this.log.error({ err: e }, 'job handling failed; the message will be redelivered');
        taken.msg.nak(retryBackoffMs(taken.msg.info.deliveryCount, this.opts.retryBaseMs));
      });
    }
  }

  private async handle(msg: WorkMessage): Promise<void> {
    let jobId: string;
    try {
      jobId = decodeInternal(WorkItem, msg.data).jobId;
    } catch (e) {
      this.log.error({ err: e, subject: msg.subject }, 'malformed work item terminated');
      return msg.term('malformed work item');
    }
    const cur = await this.store.get(jobId);
    if (!cur) {
      this.log.warn({ jobId }, 'work item without a job record terminated');
      return msg.term('no job record');
    }
    if (isFinal(cur.record.state)) {
      // Ended before (a crash between result and ack, or cancelled while queued): make sure the event is out, then ack.
      await publishResult(this.ctx, this.store, cur.record);
      await this.ended(cur.record);
      return msg.ack();
    }
    if (cur.record.cancelRequested) return this.finish(msg, cur.record, 'cancelled', undefined, cancelledError());
    const here = this.running.get(jobId);
    if (here) {
      // Redelivered to us while we still run it (heartbeats lost in a disconnect): keep running, settle the new delivery.
      this.log.info({ jobId, delivery: msg.info.deliveryCount }, 'job redelivered while running here; continuing with the new delivery');
      here.msg = msg;
      return;
    }
    await this.run(msg, cur);
  }

  private async run(msg: WorkMessage, cur: Versioned): Promise<void> {
    const { jobId } = cur.record;
    const attempt = cur.record.attempts + 1;
    const log = this.log.child({ jobId, attempt });
    // Claim: compare-and-set on the revision we read, so two instances never both run one delivery.
    const claimed = await this.store.update(
      jobId,
      (r) => ({ ...r, state: 'running', attempts: attempt, startedAt: r.startedAt ?? new Date().toISOString() }),
      cur.revision,
    );
    const resumed = claimed.record.snapshot !== undefined;
    if (resumed) metrics.jobsResumed.inc({ service: this.def.id });
    log.info({ resumed, step: claimed.record.step, delivery: msg.info.deliveryCount }, resumed ? 'job resumed from snapshot' : 'job started');

    const running: Running = { abort: new AbortController(), cancelled: false, msg, lost: false };
    this.running.set(jobId, running);
    metrics.jobsInFlight.inc({ service: this.def.id });
    const heartbeat = setInterval(() => running.msg.working(), Math.max(250, Math.floor(this.ctx.topology.options.ackWaitMs / 3)));
    try {
      const out = await this.runActor(claimed.record, attempt, running, log);
      msg = running.msg;
      if (running.lost) {
        log.warn('job taken over by another instance; this run stops without settling');
        return;
      }
      if (running.cancelled) return await this.finish(msg, claimed.record, 'cancelled', undefined, cancelledError());
      if (out === 'interrupted') {
        log.info('job interrupted by shutdown; it resumes from its snapshot on redelivery');
        return msg.nak(0);
      }
      if (out.ok) return await this.finish(msg, claimed.record, 'succeeded', out.result);
      const retryable = out.error.retryable === true && msg.info.deliveryCount < this.ctx.topology.options.maxDeliver;
      if (retryable) {
        const delay = retryBackoffMs(msg.info.deliveryCount, this.opts.retryBaseMs);
        log.warn({ error: out.error, delayMs: delay }, 'retryable failure; job will be retried from its last snapshot');
        return msg.nak(delay);
      }
      return await this.finish(msg, claimed.record, 'failed', undefined, out.error);
    } finally {
      clearInterval(heartbeat);
      this.running.delete(jobId);
      metrics.jobsInFlight.dec({ service: this.def.id });
    }
  }

  /** Runs the job's actor to its end; persists the snapshot after every step (state change). */
  private runActor(record: JobRecord, attempt: number, running: Running, log: JobRunner['log']): Promise<JobOutput | 'interrupted'> {
    const svc = this.def.id;
    let lastProgress = 0;
    const machine = this.def.workflow({
      jobId: record.jobId,
      runtime: this.ctx,
      signal: running.abort.signal,
      log,
      progress: (step, fraction, extra) => {
        const now = Date.now();
        if (now - lastProgress < (this.opts.progressIntervalMs ?? 500) && fraction < 1) return;
        lastProgress = now;
        publishProgress(this.ctx, { jobId: record.jobId, service: svc, step, fraction, ...extra }, record.encoding);
      },
    });
    const actor = createActor(machine, {
      input: record.input,
      ...(record.snapshot !== undefined ? { snapshot: record.snapshot as Snapshot<unknown> } : {}),
    });
    let persisted: Promise<unknown> = Promise.resolve();
    let persistFailure: unknown = null;
    let lastStep = stepName((actor.getSnapshot() as { value: unknown }).value);
    let stepStarted = Date.now();

    return new Promise((resolve) => {
      let settled = false;
      const settle = (v: JobOutput | 'interrupted') => {
        if (settled) return;
        settled = true;
        void persisted.then(() => resolve(persistFailure && !running.lost ? { ok: false, error: VpipeError.from(persistFailure).toBody() } : v));
      };
      actor.subscribe({
        next: (snap) => {
          const s = snap as { status: string; value: unknown; output?: JobOutput };
          if (s.status === 'done') return settle(s.output ?? { ok: false, error: internal('workflow ended without output') });
          const step = stepName(s.value);
          if (s.status !== 'active' || step === lastStep) return;
          metrics.stepDuration.observe({ service: svc, step: lastStep }, (Date.now() - stepStarted) / 1000);
          lastStep = step;
          stepStarted = Date.now();
          const snapshot = actor.getPersistedSnapshot();
          persisted = persisted
            .then(() =>
              this.store.update(record.jobId, (r) => {
                if (r.attempts !== attempt) throw new VpipeError(ErrorCodes.Unavailable, 'job taken over by another instance', { retryable: true });
                return { ...r, step, snapshot };
              }),
            )
            .catch((e: unknown) => {
              // Never an unhandled rejection: a lost claim stops this run; another failure ends it (retryable).
              persistFailure ??= e;
              if (VpipeError.from(e).message.includes('taken over')) running.lost = true;
              running.abort.abort();
            });
        },
        error: (e) => settle({ ok: false, error: VpipeError.from(e).toBody() }),
      });
      running.abort.signal.addEventListener('abort', () => {
        actor.stop();
        settle('interrupted');
      });
      actor.start();
    });
  }

  private async finish(msg: WorkMessage, record: JobRecord, state: 'succeeded' | 'failed' | 'cancelled', result?: unknown, error?: ErrorBody): Promise<void> {
    const v = await this.store.update(record.jobId, (r) => {
      const next: JobRecord = { ...r, state, step: undefined, snapshot: undefined };
      if (result !== undefined) next.result = result;
      if (error) next.error = error;
      return next;
    });
    await publishResult(this.ctx, this.store, v.record);
    await this.ended(v.record);
    await msg.ack();
    metrics.jobsFinished.inc({ service: this.def.id, state });
    metrics.jobDuration.observe({ service: this.def.id, state }, (Date.now() - Date.parse(record.submittedAt)) / 1000);
    this.log.info({ jobId: record.jobId, state, error: error?.code }, 'job finished');
  }

  /** Lets the service clean up after a failed or cancelled job. Never throws. */
  private async ended(record: JobRecord): Promise<void> {
    if (!this.def.ended || (record.state !== 'failed' && record.state !== 'cancelled')) return;
    await this.def.ended(this.ctx, record.jobId, record.input, record.state).catch((e: unknown) => this.log.warn({ err: e, jobId: record.jobId }, 'clean-up after the job failed'));
  }

  /** Jobs running in this process now (for tests and the supervisor). */
  get activeJobs(): string[] {
    return [...this.running.keys()];
  }
}

/** Fails the job of a dead job work item (its deliveries ran out: the process running it kept dying) and publishes the result. Never throws. */
export async function failDeadJob(ctx: RuntimeContext, service: string, data: Uint8Array, reason: string): Promise<void> {
  try {
    const { jobId } = decodeInternal(WorkItem, data);
    const store = new JobStore(ctx.topology.jobs, service);
    const v = await store.update(jobId, (r) =>
      isFinal(r.state) ? null : { ...r, state: 'failed', step: undefined, snapshot: undefined, error: { code: ErrorCodes.DeadLetter, message: reason, retryable: false } },
    );
    await publishResult(ctx, store, v.record);
    metrics.jobsFinished.inc({ service, state: v.record.state });
  } catch (e) {
    ctx.log.error({ err: e, service }, 'could not fail the job of a dead work item');
  }
}

function stepName(value: unknown): string {
  return typeof value === 'string' ? value : JSON.stringify(value);
}

function internal(message: string): ErrorBody {
  return { code: ErrorCodes.Internal, message, retryable: false };
}

function cancelledError(): ErrorBody {
  return { code: ErrorCodes.Cancelled, message: 'cancelled by request' };
}

