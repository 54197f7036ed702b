/**
 * Job records in the `vpipe_jobs` KV bucket, key `<service>.<jobId>`: the
 * request, the state, the XState snapshot after every step, and the final
 * result. Updates are compare-and-set on the KV revision, so two instances
 * can never both advance one job.
 */
import type { KV } from '@nats-io/kv';
import { z } from 'zod';
import { ErrorBody, JobState, type JobStatus } from '../../schemas/api.js';
import { Priority } from '../../schemas/common.js';
import { CasConflictError, ErrorCodes, VpipeError } from '../core/mod.js';
import { decodeInternal, encodePayload, isWrongLastSequence, withJsRetry } from '../nats/mod.js';

export const JobRecord = z.object({
  jobId: z.string(),
  service: z.string(),
  state: JobState,
  step: z.string().optional(),
  priority: Priority,
  input: z.unknown(),
  submittedAt: z.string(),
  updatedAt: z.string(),
  startedAt: z.string().optional(),
  attempts: z.number().int(),
  snapshot: z.unknown().optional(),
  result: z.unknown().optional(),
  error: ErrorBody.optional(),
  cancelRequested: z.boolean().optional(),
  /** The request's wire encoding: result and progress events are published in it. */
  encoding: z.enum(['json', 'msgpack']),
  eventPublished: z.boolean().optional(),
});
export type JobRecord = z.infer<typeof JobRecord>;

export interface Versioned {
  record: JobRecord;
  revision: number;
}

/** What status replies and result events show: the record without internals. */
export function publicStatus(r: JobRecord): JobStatus {
  const s: JobStatus = {
    jobId: r.jobId,
    service: r.service,
    state: r.state,
    submittedAt: r.submittedAt,
    updatedAt: r.updatedAt,
    attempts: r.attempts,
  };
  if (r.step) s.step = r.step;
  if (r.result !== undefined) s.result = r.result;
  if (r.error) s.error = r.error;
  return s;
}

export class JobStore {
  constructor(
    private readonly kv: KV,
    readonly service: string,
  ) {}

  private key(jobId: string): string {
    return `${this.service}.${jobId}`;
  }

  /** Creates the record; throws if the job id exists (ids are unique, so that is a bug or a replay). */
  async create(record: JobRecord): Promise<number> {
    return withJsRetry(() => this.kv.create(this.key(record.jobId), encodePayload(record, 'msgpack')));
  }

  async get(jobId: string): Promise<Versioned | null> {
    const e = await withJsRetry(() => this.kv.get(this.key(jobId)));
    if (!e || e.operation !== 'PUT' || e.value.length === 0) return null;
    return { record: decodeInternal(JobRecord, e.value), revision: e.revision };
  }

  /**
   * Read-modify-write with compare-and-set. `change` returns the new record,
   * or null to leave it alone. Retries on a concurrent write; throws
   * JOB_NOT_FOUND if the record is gone.
   */
  async update(jobId: string, change: (r: JobRecord) => JobRecord | null, expectRevision?: number): Promise<Versioned> {
    for (let attempt = 0; attempt < 10; attempt++) {
      const cur = await this.get(jobId);
      if (!cur) throw new VpipeError(ErrorCodes.JobNotFound, `job ${jobId} not found`);
      if (expectRevision !== undefined && cur.revision !== expectRevision) throw new CasConflictError(`job ${jobId}`);
      const next = change(cur.record);
      if (!next) return cur;
      next.updatedAt = new Date().toISOString();
      try {
        const revision = await withJsRetry(() => this.kv.update(this.key(jobId), encodePayload(next, 'msgpack'), cur.revision));
        return { record: next, revision };
      } catch (e) {
        // Only the server's wrong-last-sequence is a lost race (read again); anything else is thrown as it is.
        if (!isWrongLastSequence(e)) throw e;
        if (expectRevision !== undefined) throw new CasConflictError(`job ${jobId}`, e);
      }
    }
    throw new CasConflictError(`job ${jobId} (10 concurrent updates in a row)`);
  }

  async delete(jobId: string): Promise<void> {
    await withJsRetry(() => this.kv.delete(this.key(jobId)));
  }
}
