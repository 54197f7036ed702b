/**
 * Result and progress events. A job's result is published once: the event
 * carries Nats-Msg-Id `<svc>.<jobId>.result`, so a re-publish after a crash
 * is dropped by the stream's duplicate window, and the record remembers it
 * was published so a later redelivery does not publish again.
 */
import type { JobEvent, ProgressEvent } from '../../schemas/api.js';
import type { JobRecord, JobStore } from './store.js';
import { contentHeaders, encodePayload, eventSubject, progressSubject, type RuntimeContext, withJsRetry } from '../nats/mod.js';

export function resultEvent(r: JobRecord): JobEvent {
  const ev: JobEvent = { jobId: r.jobId, service: r.service, state: r.state as JobEvent['state'] };
  if (r.result !== undefined) ev.result = r.result;
  if (r.error) ev.error = r.error;
  return ev;
}

/** Publishes the final event (idempotent) and marks the record. Throws if JetStream does not confirm. */
export async function publishResult(ctx: RuntimeContext, store: JobStore, r: JobRecord): Promise<void> {
  if (!r.eventPublished) {
    await withJsRetry(() =>
      ctx.js.publish(eventSubject(r.service, r.jobId), encodePayload(resultEvent(r), r.encoding), {
        msgID: `${r.service}.${r.jobId}.result`,
        headers: contentHeaders(r.encoding),
      }),
    );
  }
  await store.update(r.jobId, (cur) => (cur.eventPublished ? null : { ...cur, eventPublished: true }));
}

/** Publishes a progress event without waiting (progress is advisory; the stream keeps the latest few). */
export function publishProgress(ctx: RuntimeContext, ev: ProgressEvent, encoding: JobRecord['encoding']): void {
  ctx.nc.publish(progressSubject(ev.service, ev.jobId), encodePayload(ev, encoding), { headers: contentHeaders(encoding) });
}
