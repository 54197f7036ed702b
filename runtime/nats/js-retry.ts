/**
 * Classifies NATS and JetStream failures by their error classes and the
 * server's err_codes (nats-server's errors.json), never by message text, and
 * retries JetStream calls through the seconds a cluster needs to elect new
 * leaders after losing a server.
 */
import { JetStreamApiError } from '@nats-io/jetstream';
import { errors } from '@nats-io/nats-core';
import { CasConflictError, QueueFullError, RetryPolicies, rootLogger } from '../core/mod.js';

/** JetStream API err_codes of states that pass on their own: cluster or meta leader unavailable, placement, resources. */
export const TRANSIENT_JS_CODES: ReadonlySet<number> = new Set([
  10004, // JSClusterIncompleteErr
  10005, // JSClusterNoPeersErrF
  10007, // JSClusterNotAssignedErr
  10008, // JSClusterNotAvailErr: JetStream system temporarily unavailable
  10009, // JSClusterNotLeaderErr
  10023, // JSInsufficientResourcesErr
  10039, // JSNotEnabledForAccountErr (while the meta leader is re-elected)
  10076, // JSNotEnabledErr
]);
/** JSStreamWrongLastSequenceErrF: a compare-and-set lost (KV update/create on a changed key). */
export const JS_WRONG_LAST_SEQUENCE = 10071;
/** JSStreamStoreFailedF: the store refused the message — at the stream's message or byte limit with discard new. */
export const JS_STORE_FAILED = 10077;

function chain(e: unknown): Error[] {
  const out: Error[] = [];
  for (let c: unknown = e; c instanceof Error && out.length < 8; c = c.cause) out.push(c);
  return out;
}

/** Nobody is listening (the service is restarting, or a stream's leader moves): safe to retry even for requests that are not idempotent. */
export function isNoResponders(e: unknown): boolean {
  return chain(e).some((c) => c instanceof errors.NoRespondersError);
}

/** A failure that may pass by itself: no responders, a time-out, a reconnect, a cluster state the server calls temporary. */
export function isTransient(e: unknown): boolean {
  return chain(e).some(
    (c) =>
      c instanceof errors.NoRespondersError ||
      c instanceof errors.TimeoutError ||
      c instanceof errors.ConnectionError ||
      // nats.js does not export this class; its name is its identity
      c.name === 'JetStreamNotEnabled' ||
      (c instanceof JetStreamApiError && TRANSIENT_JS_CODES.has(c.code)),
  );
}

/** The server's wrong-last-sequence answer to a compare-and-set write. */
export function isWrongLastSequence(e: unknown): boolean {
  return chain(e).some((c) => c instanceof CasConflictError || (c instanceof JetStreamApiError && c.code === JS_WRONG_LAST_SEQUENCE));
}

/**
 * The stream refused a message at its limits (a full work queue: `VPIPE_MAX_QUEUED_WORK`). The server
 * answers 10077 for any store failure and has no code of its own for "limit reached", so this is the
 * one place its description is read: the code first, then which store failure it was.
 */
export function isStreamFull(e: unknown): boolean {
  return chain(e).some((c) => c instanceof QueueFullError || (c instanceof JetStreamApiError && c.code === JS_STORE_FAILED && /^maximum (messages|bytes)/.test(c.apiError().description)));
}

/** Calls `fn` until it succeeds, a non-transient error is thrown, or `budgetMs` passes (then the last error is thrown). */
export function withJsRetry<T>(fn: () => Promise<T>, budgetMs = 20_000, retryable: (e: unknown) => boolean = isTransient): Promise<T> {
  return RetryPolicies.jetstream.run(fn, {
    retryable,
    budgetMs,
    onRetry: (e, waitMs) => rootLogger.debug({ err: (e as Error).message, waitMs }, 'transient JetStream error; retrying'),
  });
}
