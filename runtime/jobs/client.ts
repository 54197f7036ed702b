/**
 * A small vpipe client: what the CLI and the tests use, speaking exactly the
 * protocol a `nats req` / `nats sub` user speaks (request → job id, result
 * and progress events from the VPIPE_EVENTS stream).
 */
import { jetstream, DeliverPolicy, type JetStreamClient } from '@nats-io/jetstream';
import { connect, headers as natsHeaders, nuid, type NatsConnection } from '@nats-io/transport-node';
import { ErrorCodes, ServiceRequestError, VpipeError } from '../core/mod.js';
import type { ErrorBody, JobEvent, JobStatus, ProgressEvent } from '../../schemas/api.js';
import { contentHeaders, decodePayload, drainWithin, encodePayload, type Encoding, eventSubject, IDEMPOTENCY_HEADER, isNoResponders, isTransient, natsClientTuning, STREAM_EVENTS, Subjects, withJsRetry } from '../nats/mod.js';

export class VpipeClient {
  private readonly js: JetStreamClient;

  constructor(readonly nc: NatsConnection) {
    this.js = jetstream(nc);
  }

  static async connect(servers: string, name = 'vpipe-client'): Promise<VpipeClient> {
    return new VpipeClient(await connect({ servers: servers.split(','), name, ...natsClientTuning() }));
  }

  /** One request/reply. Resolves with the decoded body; throws ServiceRequestError on a service error reply. */
  async request<T = unknown>(
    subject: string,
    body: unknown,
    opts: { encoding?: Encoding; timeoutMs?: number; idempotencyKey?: string } = {},
  ): Promise<T> {
    const enc = opts.encoding ?? 'msgpack';
    const timeout = opts.timeoutMs ?? 30_000;
    const deadline = Date.now() + timeout;
    const hdrs = contentHeaders(enc, natsHeaders());
    if (opts.idempotencyKey) hdrs.set(IDEMPOTENCY_HEADER, opts.idempotencyKey);
    // No responders: the service is restarting or reconnecting to another cluster member. A lost
    // request (time-out) is retried only when an idempotency key makes the retry safe.
    const attemptMs = opts.idempotencyKey ? Math.min(5_000, timeout) : timeout;
    const msg = await withJsRetry(
      () => this.nc.request(subject, encodePayload(body, enc), { timeout: Math.max(100, Math.min(attemptMs, deadline - Date.now())), headers: hdrs }),
      timeout,
      opts.idempotencyKey ? isTransient : isNoResponders,
    );
    const code = msg.headers?.get('Nats-Service-Error-Code');
    const replyEnc: Encoding = msg.headers?.get('Content-Type')?.includes('json') ? 'json' : 'msgpack';
    const decoded = msg.data.length ? decodePayload(msg.data, replyEnc, Number.MAX_SAFE_INTEGER) : null;
    if (code) {
      const err = (decoded as { error?: ErrorBody } | null)?.error ?? { code: 'INTERNAL' as const, message: msg.headers?.get('Nats-Service-Error') ?? '' };
      throw new ServiceRequestError(Number(code), err);
    }
    return decoded as T;
  }

  /** Submits a job with a fresh idempotency key, so lost requests are retried without making two jobs; resolves with its id. */
  async submit(subject: string, body: unknown, encoding: Encoding = 'msgpack'): Promise<string> {
    const r = await this.request<{ jobId: string }>(subject, body, { encoding, idempotencyKey: nuid.next() });
    return r.jobId;
  }

  status(service: string, jobId: string): Promise<JobStatus> {
    return this.request<JobStatus>(Subjects.endpoint(service, 'status'), { jobId });
  }

  /**
   * Waits for a job's result event (read from the stream, so it works even if the job ended before the
   * call). Throws on timeout. Progress comes from a plain subscription beside it: progress is only ever
   * the latest news, and one consumer per filter keeps the result's consumer to one subject (a consumer
   * filtering on the result and its progress subject at once was seen, on nats-server 2.10, to pass
   * over the result when several such waits ran at once).
   */
  async waitForResult(service: string, jobId: string, opts: { timeoutMs?: number; onProgress?: (p: ProgressEvent) => void; signal?: AbortSignal } = {}): Promise<JobEvent> {
    const subj = eventSubject(service, jobId);
    const progress = opts.onProgress
      ? this.nc.subscribe(`${subj}.progress`, {
          callback: (err, m) => {
            if (err) return;
            const enc: Encoding = m.headers?.get('Content-Type')?.includes('json') ? 'json' : 'msgpack';
            try {
              opts.onProgress!(decodePayload(m.data, enc, Number.MAX_SAFE_INTEGER) as ProgressEvent);
            } catch {
              /* a progress event we cannot read is only news lost */
            }
          },
        })
      : null;
    // A failover can take a while under load: keep trying for as long as the caller waits.
    const consumer = await withJsRetry(() => this.js.consumers.get(STREAM_EVENTS, { filter_subjects: [subj], deliver_policy: DeliverPolicy.All }), opts.timeoutMs ?? 120_000).catch((e: unknown) => {
      progress?.unsubscribe();
      throw e;
    });
    const messages = await consumer.consume();
    const timer = setTimeout(() => void messages.close(), opts.timeoutMs ?? 120_000);
    const onAbort = () => void messages.close();
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    try {
      for await (const m of messages) {
        const enc: Encoding = m.headers?.get('Content-Type')?.includes('json') ? 'json' : 'msgpack';
        return decodePayload(m.data, enc, Number.MAX_SAFE_INTEGER) as JobEvent;
      }
      if (opts.signal?.aborted) throw new VpipeError(ErrorCodes.Cancelled, `stopped waiting for ${service} job ${jobId}: cancelled`);
      throw new Error(`no result for ${service} job ${jobId} within ${opts.timeoutMs ?? 120_000} ms`);
    } finally {
      progress?.unsubscribe();
      opts.signal?.removeEventListener('abort', onAbort);
      clearTimeout(timer);
      await messages.close();
    }
  }

  close(): Promise<void> {
    return drainWithin(this.nc);
  }
}
