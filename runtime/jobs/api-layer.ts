/**
 * The API layer: registers a service as a NATS micro service (`$SRV.PING`,
 * `$SRV.INFO`, `$SRV.STATS`), validates each request, admits it, stores the
 * job and queues its work, then answers at once with the job id. Refusals
 * carry the micro-service error headers and `{"error": {...}}`; nothing is
 * half-started.
 */
import { createHash } from 'node:crypto';
import { nuid, type Msg } from '@nats-io/transport-node';
import { Svcm, type Service, type ServiceMsg } from '@nats-io/services';
import { JobRef, isFinal, type ErrorBody } from '../../schemas/api.js';
import { ErrorCodes, metrics, VpipeError } from '../core/mod.js';
import { JobStore, publicStatus, type JobRecord } from './store.js';
import { contentHeaders, decodePayload, detectEncoding, encodePayload, type Encoding, IDEMPOTENCY_HEADER, isStreamFull, type RuntimeContext, Subjects, validate, withJsRetry, workSubject } from '../nats/mod.js';
import { publishResult } from './results.js';
import type { ServiceDefinition } from './service-definition.js';
import type { z } from 'zod';

export const cancelControlSubject = (svc: string): string => Subjects.control(svc, 'cancel');


/** A fresh job id, or one derived from the caller's idempotency key (22 URL-safe characters either way). */
/** The job id of a submission: derived from its Idempotency-Key (so a retry finds the same job), else fresh. */
export function jobIdFor(svc: string, key: string | undefined): string {
  if (!key) return nuid.next();
  return createHash('sha256').update(`${svc}\0${key}`).digest('base64url').slice(0, 22);
}

function reply(msg: ServiceMsg, body: unknown, enc: Encoding): void {
  msg.respond(encodePayload(body, enc), { headers: contentHeaders(enc) });
}

/** Per-endpoint counts served as `data` in `$SRV.STATS` replies. */
interface EndpointCounts {
  requests: number;
  rejected: number;
  rejectedByCode: Record<string, number>;
}

/**
 * The services library counts an error only when a handler throws
 * synchronously; ours reply asynchronously, so count through its endpoint
 * stats when they are reachable (an internal of @nats-io/services; skipped
 * if it changes shape), keeping num_errors and last_error honest.
 */
function countServiceError(srv: Service, endpoint: string, e: Error): void {
  const handlers = (srv as unknown as { handlers?: { name: string; stats?: { countError?: (e: Error) => void } }[] }).handlers;
  handlers?.find((h) => h.name === endpoint)?.stats?.countError?.(e);
}

function replyError(msg: ServiceMsg, svc: string, e: VpipeError, enc: Encoding): void {
  metrics.requestsRejected.inc({ service: svc, code: e.code });
  const body: { error: ErrorBody } = { error: e.toBody() };
  // Header values must be one line; the body carries the full message.
  msg.respondError(e.status, `${e.code}: ${e.message}`.replace(/[\r\n]+/g, ' ').slice(0, 1024), encodePayload(body, enc), {
    headers: contentHeaders(enc),
  });
}

/** Wraps a handler so that any throw becomes an error reply and the service keeps serving. */
function endpoint(
  srv: Service,
  svc: string,
  ep: { name: string; subject: string },
  counts: Map<string, EndpointCounts>,
  fn: (msg: ServiceMsg, enc: Encoding) => Promise<void>,
) {
  const c: EndpointCounts = { requests: 0, rejected: 0, rejectedByCode: {} };
  counts.set(ep.subject, c);
  return (err: Error | null, msg: ServiceMsg): void => {
    if (err) return;
    c.requests++;
    const enc = detectEncoding(msg.data, msg.headers);
    fn(msg, enc).catch((e: unknown) => {
      const ve = VpipeError.from(e);
      c.rejected++;
      c.rejectedByCode[ve.code] = (c.rejectedByCode[ve.code] ?? 0) + 1;
      countServiceError(srv, ep.name, ve);
      replyError(msg, svc, ve, enc);
    });
  };
}

function decodeRequest<T>(schema: Parameters<typeof validate>[0], msg: Msg, enc: Encoding): T {
  return validate(schema, decodePayload(msg.data, enc)) as T;
}

/** Starts the micro service of `def`. Resolves once registered; stop it with `service.stop()`. */
export async function startApi(ctx: RuntimeContext, def: ServiceDefinition): Promise<Service> {
  const store = new JobStore(ctx.topology.jobs, def.id);
  const log = ctx.log.child({ service: def.id, layer: 'api' });
  const counts = new Map<string, EndpointCounts>();
  const srv = await new Svcm(ctx.nc).add({
    name: def.name,
    version: def.version,
    description: def.description,
    queue: 'vpipe',
    statsHandler: async (ep) => counts.get(ep.subject) ?? null,
    metadata: { 'vpipe.events': Subjects.eventsOf(def.id), 'vpipe.encodings': 'msgpack,json' },
  });

  const jobEndpoints = [{ ...def.endpoint, request: def.request as z.ZodType, description: `submit a ${def.id} job; replies {jobId, state:"accepted"}` }, ...(def.moreEndpoints ?? [])];
  for (const ep of jobEndpoints) {
    srv.addEndpoint(ep.name, {
      subject: ep.subject,
      metadata: { description: ep.description },
      handler: endpoint(srv, def.id, ep, counts, async (msg, enc) => {
        const req = decodeRequest(ep.request, msg, enc);
        const { input, priority } = await def.admit(req, { mediaRoot: ctx.mediaRoot, endpoint: ep.name });
        const now = new Date().toISOString();
        const record: JobRecord = {
          jobId: jobIdFor(def.id, msg.headers?.get(IDEMPOTENCY_HEADER)),
          service: def.id,
          state: 'accepted',
          priority,
          input,
          submittedAt: now,
          updatedAt: now,
          attempts: 0,
          encoding: enc,
        };
        try {
          await store.create(record);
        } catch (e) {
          // A retried submission (same Idempotency-Key): answer with the job it already made.
          const existing = await store.get(record.jobId);
          if (!existing) throw e;
          log.info({ jobId: record.jobId }, 'duplicate submission answered with the existing job');
          return reply(msg, { jobId: record.jobId, state: 'accepted' }, enc);
        }
        try {
          await withJsRetry(
            () => ctx.pub.publish(workSubject(def.id, priority), encodePayload({ jobId: record.jobId }, 'msgpack'), { msgID: `${def.id}.${record.jobId}` }),
            // Long enough to ride out a cluster leader election after losing a server.
            15_000,
          );
        } catch (e) {
          await store.delete(record.jobId).catch(() => undefined);
          if (isStreamFull(e)) {
            throw new VpipeError(ErrorCodes.Unavailable, `the work queue is full (at most ${ctx.topology.options.maxQueuedWork} items queued or running, VPIPE_MAX_QUEUED_WORK); nothing was stored, try again later`, { retryable: true, cause: e });
          }
          throw new VpipeError(ErrorCodes.Unavailable, 'the job could not be queued; try again', { retryable: true, cause: e });
        }
        metrics.jobsAccepted.inc({ service: def.id });
        log.info({ jobId: record.jobId, priority }, 'job accepted');
        reply(msg, { jobId: record.jobId, state: 'accepted' }, enc);
      }),
    });
  }

  const statusEp = { name: 'status', subject: Subjects.endpoint(def.id, 'status') };
  const cancelEp = { name: 'cancel', subject: Subjects.endpoint(def.id, 'cancel') };
  srv.addEndpoint(statusEp.name, {
    subject: statusEp.subject,
    metadata: { description: 'job state; the result or error once it has ended' },
    handler: endpoint(srv, def.id, statusEp, counts, async (msg, enc) => {
      const { jobId } = decodeRequest<JobRef>(JobRef, msg, enc);
      const cur = await store.get(jobId);
      if (!cur) throw new VpipeError(ErrorCodes.JobNotFound, `job ${jobId} not found`, { details: [{ path: 'jobId', message: 'unknown job' }] });
      reply(msg, publicStatus(cur.record), enc);
    }),
  });

  srv.addEndpoint(cancelEp.name, {
    subject: cancelEp.subject,
    metadata: { description: 'cancel a queued or running job' },
    handler: endpoint(srv, def.id, cancelEp, counts, async (msg, enc) => {
      const { jobId } = decodeRequest<JobRef>(JobRef, msg, enc);
      const cancelled: ErrorBody = { code: ErrorCodes.Cancelled, message: 'cancelled by request' };
      const v = await store.update(jobId, (r) => {
        if (isFinal(r.state) || r.cancelRequested) return null;
        // A queued job ends here; a running one is stopped by the instance running it.
        return r.state === 'accepted' ? { ...r, state: 'cancelled', error: cancelled } : { ...r, cancelRequested: true };
      });
      if (v.record.state === 'cancelled') await publishResult(ctx, store, v.record);
      else if (!isFinal(v.record.state)) ctx.nc.publish(cancelControlSubject(def.id), encodePayload({ jobId }, 'msgpack'));
      log.info({ jobId, state: v.record.state }, 'cancel requested');
      reply(msg, { jobId, state: v.record.state === 'running' ? 'cancelling' : v.record.state }, enc);
    }),
  });
  return srv;
}
