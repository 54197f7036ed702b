/**
 * Retries JetStream calls through the seconds a cluster needs to elect new
 * leaders after losing a server (no responders, time-outs, "JetStream not
 * enabled" while the meta leader is re-elected). Anything else is thrown at once.
 */
import { rootLogger } from '../core/mod.js';

const TRANSIENT = /no responders|timeout|jetstream is not enabled|not enabled for account|no suitable peers|leader|cluster not available|insufficient resources|connection (draining|closed|reconnecting)/i;

export function isTransient(e: unknown): boolean {
  if (!(e instanceof Error)) return false;
  if (['NoRespondersError', 'TimeoutError', 'JetStreamNotEnabled'].includes(e.name)) return true;
  return TRANSIENT.test(e.message) || (e.cause instanceof Error && isTransient(e.cause));
}

/** Calls `fn` until it succeeds, a non-transient error is thrown, or `budgetMs` passes (then the last error is thrown). */
export async function withJsRetry<T>(fn: () => Promise<T>, budgetMs = 20_000, retryable: (e: unknown) => boolean = isTransient): Promise<T> {
  const deadline = Date.now() + budgetMs;
  let wait = 100;
  for (;;) {
    try {
      return await fn();
    } catch (e) {
      if (!retryable(e) || Date.now() + wait > deadline) throw e;
      rootLogger.debug({ err: (e as Error).message, waitMs: wait }, 'transient JetStream error; retrying');
      await new Promise((r) => setTimeout(r, wait));
      wait = Math.min(wait * 2, 1_000);
    }
  }
}

/** Only "nobody is listening": safe to retry even for requests that are not idempotent. */
export function isNoResponders(e: unknown): boolean {
  return e instanceof Error && (e.name === 'NoRespondersError' || /no responders/i.test(e.message) || isNoResponders(e.cause));
}

/** The stream refused a message because it is at its limits (a full work queue: `VPIPE_MAX_QUEUED_WORK`). */
export function isStreamFull(e: unknown): boolean {
  return e instanceof Error && (/maximum (messages|bytes)/i.test(e.message) || isStreamFull(e.cause));
}
