/**
 * OTP-style restart intensity: more than `maxRestarts` crashes within
 * `periodMs` escalates the pool. Each restart also waits the backoff of the
 * one retry policy (RetryPolicies.restart: 200 ms doubling to 10 s).
 * The supervisor plugs this into each pool it owns as the host's crash policy.
 */
import { RetryPolicies, type RetryPolicy } from '../runtime/core/mod.js';
import type { CrashPolicy } from '../runtime/workers/mod.js';

export interface RestartIntensity {
  maxRestarts: number;
  periodMs: number;
  /** The wait before the n-th restart within the period is `backoff.delayMs(n)`. */
  backoff: RetryPolicy;
}

export const DEFAULT_INTENSITY: RestartIntensity = { maxRestarts: 5, periodMs: 60_000, backoff: RetryPolicies.restart };

/** Pure: the restarts kept (within the period, `now` added), whether to escalate, and the backoff before this restart. */
export function restartPolicy(restarts: readonly number[], now: number, o: RestartIntensity): { restarts: number[]; escalate: boolean; backoffMs: number } {
  const recent = [...restarts.filter((t) => now - t < o.periodMs), now];
  return { restarts: recent, escalate: recent.length > o.maxRestarts, backoffMs: o.backoff.delayMs(recent.length) };
}

/** A pool's crash policy: remembers its crash times and applies the intensity. */
export function intensityPolicy(o: RestartIntensity = DEFAULT_INTENSITY): CrashPolicy {
  let restarts: number[] = [];
  return {
    crashed(why, now) {
      const r = restartPolicy(restarts, now, o);
      restarts = r.restarts;
      return r.escalate ? { escalate: `${r.restarts.length} actor crashes within ${o.periodMs / 1000} s; last: ${why}` } : { backoffMs: r.backoffMs };
    },
    reset() {
      restarts = [];
    },
  };
}
