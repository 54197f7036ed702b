/**
 * The workflow layer: job work items, hosted by the work host, each run as
 * one XState actor per job whose snapshot is persisted after every step; the
 * result is published once. A redelivered job (its process died) resumes
 * from its last snapshot; steps must be idempotent because XState re-runs a
 * pending promise actor when it restores one.
 */
import { type AnyActorRef, createActor, type Snapshot } from 'xstate';
import { z } from 'zod';
import { type ErrorBody, isFinal } from '../../schemas/api.js';
import { DEFAULT_CONCURRENCY } from '../../schemas/config.js';
import { ClaimLostError, ErrorCodes, metrics, RetryPolicies, type RetryPolicy, VpipeError } from '../core/mod.js';
import { decodeInternal, type RuntimeContext } from '../nats/mod.js';
import { decodeItem, type Settlement, type WorkContext, type WorkHostOptions, type WorkMessage, WorkWorker } from '../workers/mod.js';
import { cancelControlSubject } from './api-layer.js';
import { CANCELLED_ERROR } from './machine-kit.js';
import { publishProgress, publishResult } from './results.js';
import type { JobOutput, ServiceDefinition } from './service-definition.js';
import { type JobRecord, JobStore, type Versioned } from './store.js';

const WorkItem = z.object({ jobId: z.string() });

export interface RunnerOptions {
  /** Jobs this process runs at once (the job pool's actors). */
  concurrency?: number;
  /** When a retryable failure is tried again; attempts are capped at the work consumers' max_deliver. */
  retry?: RetryPolicy;
  progressIntervalMs?: number;
  /** Where terminated job items go (the supervisor's dead-letter stream), as for any work. */
  deadLetter?: WorkHostOptions['deadLetter'];
}

interface Running {
  /** The job's actor, once created: a cancel request is sent to it as an event. */
  actor: AnyActorRef | null;
  cancelled: boolean;
  /** Another instance took the job over (our claim is gone): stop without settling the message. */
  lost: boolean;
  /** Settles when this run ends (a redelivery of the same job waits for it). */
  done: Promise<void>;
}

/**
 * A service's job actors: the workflow layer. The job work items are hosted
 * by the same work host as chunk work (one pull loop, one heartbeat, one
 * settlement); this is the handler — claim, run the job's machine with its
 * snapshot persisted after every step, publish the result once.
 */
export class JobRunner {
  private readonly store: JobStore;
  private readonly log;
  private readonly running = new Map<string, Running>();
  private readonly host: WorkWorker;
  private readonly retry: RetryPolicy;
  private ctlSub: { unsubscribe(): void } | null = null;

  constructor(
    private readonly ctx: RuntimeContext,
    private readonly def: ServiceDefinition,
    private readonly opts: RunnerOptions = {},
  ) {
    this.store = new JobStore(ctx.topology.jobs, def.id);
    this.log = ctx.log.child({ service: def.id, layer: 'workflow' });
    this.retry = (opts.retry ?? RetryPolicies.job).with({ maximumAttempts: ctx.topology.options.maxDeliver });
    // A job's actor waits on chunks for minutes without progress of its own: heartbeated while it runs.
    this.host = new WorkWorker(ctx, def.id, (msg, wc) => this.handle(msg, wc), {
      concurrency: opts.concurrency ?? DEFAULT_CONCURRENCY,
      heartbeat: 'alive',
      retry: this.retry,
      deadLetter: opts.deadLetter,
      role: 'workflow',
    });
  }

  start(): void {
    this.ctlSub = this.ctx.nc.subscribe(cancelControlSubject(this.def.id), {
      callback: (_e, m) => {
        try {
          const { jobId } = decodeInternal(WorkItem, m.data);
          const r = this.running.get(jobId);
          if (r) {
            r.cancelled = true;
            r.actor?.send({ type: 'cancel' });
          }
        } catch {
          /* a malformed control message is ignored */
        }
      },
    });
    this.host.start();
  }

  /** Stops taking work, lets running jobs finish for up to graceMs, then interrupts them (they resume elsewhere from their snapshot). */
  async stop(graceMs = 10_000): Promise<void> {
    await this.host.stop(graceMs);
    this.ctlSub?.unsubscribe();
  }

  private async handle(msg: WorkMessage, wc: WorkContext): Promise<Settlement> {
    const decoded = decodeItem(WorkItem, msg, this.log);
    if (!decoded.ok) return decoded.settlement;
    const { jobId } = decoded.item;
    const cur = await this.store.get(jobId);
    if (!cur) {
      this.log.warn({ jobId }, 'work item without a job record terminated');
      return { term: 'no job record' };
    }
    if (isFinal(cur.record.state)) {
      // Ended before (a crash between result and ack, or cancelled while queued): make sure the event is out, then ack.
      await publishResult(this.ctx, this.store, cur.record);
      await this.ended(cur.record);
      return { ack: true };
    }
    if (cur.record.cancelRequested) return this.finish(cur.record, 'cancelled', undefined, CANCELLED_ERROR);
    const here = this.running.get(jobId);
    if (here) {
      // Redelivered to us while we still run it (heartbeats lost in a disconnect): this delivery is heartbeated until the run ends.
      this.log.info({ jobId, delivery: wc.delivery }, 'job redelivered while running here; the new delivery is settled when the run ends');
      await here.done;
      return { ack: true };
    }
    let finished!: () => void;
    const running: Running = { actor: null, cancelled: false, lost: false, done: new Promise<void>((r) => (finished = r)) };
    this.running.set(jobId, running);
    try {
      return await this.run(cur, running, wc);
    } finally {
      this.running.delete(jobId);
      finished();
    }
  }

  private async run(cur: Versioned, running: Running, wc: WorkContext): Promise<Settlement> {
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
    log.info({ resumed, step: claimed.record.step, delivery: wc.delivery }, resumed ? 'job resumed from snapshot' : 'job started');

    metrics.jobsInFlight.inc({ service: this.def.id });
    try {
      const out = await this.runActor(claimed.record, attempt, running, wc.signal, log);
      if (running.lost) {
        log.warn('job taken over by another instance; this run stops without settling');
        return { leave: true };
      }
      if (out === 'interrupted') {
        log.info('job interrupted by shutdown; it resumes from its snapshot on redelivery');
        return { nakDelayMs: 0 };
      }
      if (out.ok) return await this.finish(claimed.record, 'succeeded', out.result);
      if (running.cancelled && out.error.code === ErrorCodes.Cancelled) return await this.finish(claimed.record, 'cancelled', undefined, out.error);
      if (this.retry.shouldRetry(out.error, wc.delivery)) {
        const delay = this.retry.delayMs(wc.delivery);
        log.warn({ error: out.error, delayMs: delay }, 'retryable failure; job will be retried from its last snapshot');
        return { nakDelayMs: delay };
      }
      return await this.finish(claimed.record, 'failed', undefined, out.error);
    } finally {
      metrics.jobsInFlight.dec({ service: this.def.id });
    }
  }

  /** Runs the job's actor to its end; persists the snapshot after every step (state change). */
  private runActor(record: JobRecord, attempt: number, running: Running, interrupt: AbortSignal, log: JobRunner['log']): Promise<JobOutput | 'interrupted'> {
    const svc = this.def.id;
    let lastProgress = 0;
    // Aborted on shutdown or when the run must stop (a lost claim, a failed persist); a cancel is an event.
    const stop = new AbortController();
    const onInterrupt = () => stop.abort();
    interrupt.addEventListener('abort', onInterrupt, { once: true });
    const machine = this.def.workflow({
      jobId: record.jobId,
      runtime: this.ctx,
      signal: stop.signal,
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

    return new Promise<JobOutput | 'interrupted'>((resolve) => {
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
                if (r.attempts !== attempt) throw new ClaimLostError(`job ${record.jobId}`);
                return { ...r, step, snapshot };
              }),
            )
            .catch((e: unknown) => {
              // Never an unhandled rejection: a lost claim stops this run; another failure ends it (retryable).
              persistFailure ??= e;
              if (e instanceof ClaimLostError) running.lost = true;
              stop.abort();
            });
        },
        error: (e) => settle({ ok: false, error: VpipeError.from(e).toBody() }),
      });
      stop.signal.addEventListener('abort', () => {
        interrupt.removeEventListener('abort', onInterrupt);
        actor.stop();
        settle('interrupted');
      });
      actor.start();
      running.actor = actor;
      // Cancelled while it was being claimed: the event goes to the machine as soon as it runs.
      if (running.cancelled) actor.send({ type: 'cancel' });
    });
  }

  private async finish(record: JobRecord, state: 'succeeded' | 'failed' | 'cancelled', result?: unknown, error?: ErrorBody): Promise<Settlement> {
    const v = await this.store.update(record.jobId, (r) => {
      const next: JobRecord = { ...r, state, step: undefined, snapshot: undefined };
      if (result !== undefined) next.result = result;
      if (error) next.error = error;
      return next;
    });
    await publishResult(this.ctx, this.store, v.record);
    await this.ended(v.record);
    metrics.jobsFinished.inc({ service: this.def.id, state });
    metrics.jobDuration.observe({ service: this.def.id, state }, (Date.now() - Date.parse(record.submittedAt)) / 1000);
    this.log.info({ jobId: record.jobId, state, error: error?.code }, 'job finished');
    return { ack: true };
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


