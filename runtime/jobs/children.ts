/**
 * Child jobs: what an orchestrating job (CAS's trials, the streaming
 * orchestrator) starts on other services, through their public NATS API only.
 * Every child is submitted with an idempotency key derived from the parent's
 * job id and the child's name, so a parent resumed after a crash finds the
 * same jobs (a finished one answers from the events stream, nothing is done
 * twice), and is recorded under `<parentJobId>.child.<svc>_<name>` in
 * `vpipe_chunks`, so a cancelled or failed parent can cancel what it started.
 */
import { ErrorCodes, ServiceRequestError, VpipeError } from '../core/mod.js';
import { KV_CHUNKS, kvPutSubject, kvStream, type RuntimeContext, Subjects, withJsRetry } from '../nats/mod.js';
import { ERROR_CODES, type ErrorBody, type JobEvent, type ProgressEvent } from '../../schemas/api.js';
import { VpipeClient } from './client.js';

const SUBMIT_TIMEOUT_MS = 60_000;
/** How long one child may take; the parent's own cancellation ends the wait sooner. */
export const CHILD_TIMEOUT_MS = 24 * 3600_000;

/** A child's name: letters, digits, `_` and `-` (it is part of a KV key and an idempotency key). */
const CHILD_NAME = /^[A-Za-z0-9_-]{1,64}$/;

export const childKey = (parentJobId: string, svc: string, name: string): string => `${parentJobId}.child.${svc}_${name}`;

/** A child's failure as the parent's: the child's own code where it is one of ours (TOOL_MISSING stays TOOL_MISSING), its message kept. */
export function childError(what: string, e: ErrorBody | undefined): VpipeError {
  const code = e && (ERROR_CODES as readonly string[]).includes(e.code) && e.code !== ErrorCodes.Cancelled ? e.code : ErrorCodes.ToolFailed;
  return new VpipeError(code, `${what}: ${e?.message ?? 'no reason given'}`, { details: e?.details });
}

export class ChildJobs {
  readonly client: VpipeClient;

  constructor(
    private readonly ctx: RuntimeContext,
    private readonly parentJobId: string,
  ) {
    this.client = new VpipeClient(ctx.nc);
  }

  /**
   * Submits (or finds again, after a resume) the child `name` of service `svc` at its job endpoint; records it
   * for cancellation. A refusal is the child service's clear answer, passed on with its code.
   */
  async submit(svc: string, endpoint: string, name: string, body: unknown, what: string): Promise<string> {
    if (!CHILD_NAME.test(name)) throw new VpipeError(ErrorCodes.Internal, `child job name ${JSON.stringify(name)} is not [A-Za-z0-9_-]`);
    const subject = Subjects.endpoint(svc, endpoint);
    try {
      const { jobId } = await this.client.request<{ jobId: string }>(subject, body, { idempotencyKey: `${this.parentJobId}.${svc}.${name}`, timeoutMs: SUBMIT_TIMEOUT_MS });
      await withJsRetry(() => this.ctx.topology.chunks.put(childKey(this.parentJobId, svc, name), jobId));
      return jobId;
    } catch (e) {
      if (e instanceof ServiceRequestError) throw childError(`${what}: ${subject} refused it`, e.body);
      throw e;
    }
  }

  /** The child's result once it has succeeded; throws its error (as {@link childError}) when it failed or was cancelled, CANCELLED when `signal` stops the wait. */
  async result(svc: string, jobId: string, what: string, signal: AbortSignal, onProgress?: (p: ProgressEvent) => void): Promise<unknown> {
    if (signal.aborted) throw new VpipeError(ErrorCodes.Cancelled, `${what}: stopped`);
    const ev: JobEvent = await this.client.waitForResult(svc, jobId, { timeoutMs: CHILD_TIMEOUT_MS, signal, ...(onProgress ? { onProgress } : {}) });
    if (ev.state !== 'succeeded') throw childError(`${what} (${svc} job ${jobId}) ${ev.state}`, ev.error);
    return ev.result;
  }

  /** Submits and waits: the child's result. */
  async run(svc: string, endpoint: string, name: string, body: unknown, what: string, signal: AbortSignal, onProgress?: (p: ProgressEvent) => void): Promise<unknown> {
    const jobId = await this.submit(svc, endpoint, name, body, what);
    return this.result(svc, jobId, what, signal, onProgress);
  }
}

/** Asks every child job a parent started to cancel (those already ended answer so and stay as they are), then removes the records. Never throws. */
export async function cancelChildren(ctx: RuntimeContext, parentJobId: string): Promise<void> {
  const kv = ctx.topology.chunks;
  const client = new VpipeClient(ctx.nc);
  const keys: string[] = [];
  try {
    for await (const k of await kv.keys(`${parentJobId}.child.>`)) keys.push(k);
  } catch (e) {
    ctx.log.warn({ err: e, jobId: parentJobId }, 'could not list the child jobs');
  }
  await Promise.all(
    keys.map(async (k) => {
      const svc = k.slice(`${parentJobId}.child.`.length).split('_')[0]!;
      const jobId = (await kv.get(k).catch(() => null))?.string();
      if (!jobId || !/^[a-z]+$/.test(svc)) return;
      await client.request(Subjects.endpoint(svc, 'cancel'), { jobId }, { timeoutMs: 10_000 }).catch((e: unknown) => ctx.log.warn({ err: e, child: jobId }, 'could not cancel a child job'));
    }),
  );
  await purgeChildRecords(ctx, parentJobId);
}

/** Removes the child records of a parent in one call. Never throws. */
export async function purgeChildRecords(ctx: RuntimeContext, parentJobId: string): Promise<void> {
  await withJsRetry(() => ctx.jsm.streams.purge(kvStream(KV_CHUNKS), { filter: `${kvPutSubject(KV_CHUNKS, parentJobId)}.>` })).catch(() => undefined);
}
