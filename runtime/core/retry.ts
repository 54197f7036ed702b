/**
 * One retry policy, shaped like Temporal's: the first retry waits
 * `initialIntervalMs`, each next one `backoffCoefficient` times longer, never
 * more than `maximumIntervalMs`; at most `maximumAttempts` attempts in all
 * (0: no limit); errors with a code in `nonRetryableCodes` are never retried.
 * The job runner, chunk work, JetStream calls and the supervisor's restart
 * backoff all take their delays from one of the named policies below.
 */
import type { ErrorCode } from '../../schemas/api.js';
import { VpipeError } from './errors.js';

export interface RetryPolicyOptions {
  initialIntervalMs: number;
  backoffCoefficient: number;
  maximumIntervalMs: number;
  /** Attempts in all, the first included; 0 means no limit. */
  maximumAttempts: number;
  nonRetryableCodes?: readonly ErrorCode[];
}

export class RetryPolicy {
  constructor(readonly options: Readonly<RetryPolicyOptions>) {
    const o = options;
    if (!(o.initialIntervalMs >= 0) || !(o.backoffCoefficient >= 1) || !(o.maximumIntervalMs >= o.initialIntervalMs) || !(Number.isInteger(o.maximumAttempts) && o.maximumAttempts >= 0)) {
      throw new RangeError(`invalid retry policy ${JSON.stringify(o)}`);
    }
  }

  /** The wait before attempt `attempt + 1`, after `attempt` attempts (1 = after the first). */
  delayMs(attempt: number): number {
    const { initialIntervalMs: i, backoffCoefficient: c, maximumIntervalMs: max } = this.options;
    return Math.round(Math.min(max, i * c ** Math.max(0, attempt - 1)));
  }

  /** Whether attempts are left after `attempt` of them. */
  attemptsLeft(attempt: number): boolean {
    return this.options.maximumAttempts === 0 || attempt < this.options.maximumAttempts;
  }

  /** Whether a failure after `attempt` attempts is tried again: the error says it may succeed later, its code is not excluded, attempts are left. */
  shouldRetry(error: { code: string; retryable?: boolean }, attempt: number): boolean {
    if (error.retryable !== true) return false;
    if (this.options.nonRetryableCodes?.includes(error.code as ErrorCode)) return false;
    return this.attemptsLeft(attempt);
  }

  /** The same policy with some settings changed. */
  with(changes: Partial<RetryPolicyOptions>): RetryPolicy {
    return new RetryPolicy({ ...this.options, ...changes });
  }

  /**
   * Calls `fn` until it succeeds, `retryable(e)` says no, attempts run out or the next wait would pass
   * `budgetMs` (then the last error is thrown). An aborted `signal` ends the waiting at once.
   */
  async run<T>(fn: () => Promise<T>, o: { retryable: (e: unknown) => boolean; budgetMs?: number; signal?: AbortSignal; onRetry?: (e: unknown, waitMs: number) => void }): Promise<T> {
    const deadline = o.budgetMs === undefined ? Infinity : Date.now() + o.budgetMs;
    for (let attempt = 1; ; attempt++) {
      try {
        return await fn();
      } catch (e) {
        const wait = this.delayMs(attempt);
        if (!o.retryable(e) || !this.attemptsLeft(attempt) || Date.now() + wait > deadline || o.signal?.aborted) throw e;
        o.onRetry?.(e, wait);
        await sleep(wait, o.signal);
      }
    }
  }
}

/** Waits `ms`, or less if `signal` aborts first (then resolves, never rejects); leaves no listener behind. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const t = setTimeout(done, ms);
    function done() {
      clearTimeout(t);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}

/**
 * The policies in use. Job and chunk attempts are counted by JetStream deliveries, so their maximum is
 * the work consumers' max_deliver (set per node from VPIPE_MAX_DELIVER with `.with({ maximumAttempts })`).
 */
export const RetryPolicies = {
  /** A job that failed retryably resumes from its snapshot after this wait. */
  job: new RetryPolicy({ initialIntervalMs: 1_000, backoffCoefficient: 2, maximumIntervalMs: 60_000, maximumAttempts: 5, nonRetryableCodes: ['CANCELLED', 'CONTENT_MISMATCH'] }),
  /** A chunk that failed retryably is given back to the queue for any actor after this wait. */
  chunk: new RetryPolicy({ initialIntervalMs: 1_000, backoffCoefficient: 2, maximumIntervalMs: 60_000, maximumAttempts: 5, nonRetryableCodes: ['CANCELLED', 'CONTENT_MISMATCH'] }),
  /** JetStream calls through leader elections and reconnects (bounded by a time budget, not attempts). */
  jetstream: new RetryPolicy({ initialIntervalMs: 100, backoffCoefficient: 2, maximumIntervalMs: 1_000, maximumAttempts: 0 }),
  /** An actor that crashed restarts after this wait (the supervisor's restart intensity decides when to stop). */
  restart: new RetryPolicy({ initialIntervalMs: 200, backoffCoefficient: 2, maximumIntervalMs: 10_000, maximumAttempts: 0 }),
  /** A loop that failed to read its mailbox (a pull, an advisory) tries again after this wait. */
  poll: new RetryPolicy({ initialIntervalMs: 250, backoffCoefficient: 2, maximumIntervalMs: 5_000, maximumAttempts: 0 }),
} as const;

/** Whether a thrown error says the work may succeed later (a VpipeError's flag; anything else is an internal crash, retryable). */
export function isRetryable(e: unknown): boolean {
  return VpipeError.from(e).retryable;
}
