/**
 * The autoscaler's decision: pure — queue depths, current actors, node
 * capacity and the clock in; target actor counts and reasons out. Scale up
 * at once; scale down only after the queue has stayed below the current
 * count for a cooldown (and then by draining: an actor finishes its chunk).
 * Capacity is packed by priority, then first-fit decreasing by shape.
 */
import { fitShape, type Resources } from '../runtime/workers/mod.js';
import { PRIORITIES, type Priority } from '../schemas/common.js';

export interface PoolState {
  /** Work function, e.g. `encode.h264`. */
  fn: string;
  /** num_pending + num_ack_pending per priority class. */
  depth: Record<Priority, number>;
  /** Actors running now. */
  actors: number;
  /** What one actor of the pool takes: the shape its items reserved lately, or the pool's nominal one. */
  shape: Resources;
  min: number;
  max: number;
  /** An escalated pool (restart intensity exceeded) gets no actors until reset. */
  escalated?: boolean;
}

export interface ScalerMemory {
  /** Since when a pool's demand has been below its actor count (for the cooldown). */
  belowSince: Record<string, number>;
}

export interface Decision {
  fn: string;
  from: number;
  to: number;
  reason: string;
}

export interface ScalerOptions {
  /** Work items one actor is expected to take care of (1: an actor per queued chunk). */
  itemsPerActor: number;
  cooldownMs: number;
}

export const DEFAULT_SCALER: ScalerOptions = { itemsPerActor: 1, cooldownMs: 10_000 };

function total(d: Record<Priority, number>): number {
  return PRIORITIES.reduce((s, p) => s + d[p], 0);
}

/** Rank of a pool's most urgent waiting work: 0 high, 1 normal, 2 low, 3 none. */
function urgency(d: Record<Priority, number>): number {
  const i = PRIORITIES.findIndex((p) => d[p] > 0);
  return i < 0 ? PRIORITIES.length : i;
}

/**
 * Decides target actor counts. Pure and total: never throws; targets lie in
 * [min, max] except that capacity may hold a pool below its wish (never below
 * min unless even min does not fit).
 */
export function decide(pools: PoolState[], capacity: Resources, now: number, memory: ScalerMemory, opts: ScalerOptions = DEFAULT_SCALER): { targets: Record<string, number>; decisions: Decision[]; memory: ScalerMemory } {
  const next: ScalerMemory = { belowSince: { ...memory.belowSince } };
  const wish: Record<string, { n: number; reason: string }> = {};
  for (const p of pools) {
    const queued = total(p.depth);
    const demand = Math.min(p.max, Math.max(p.min, Math.ceil(queued / opts.itemsPerActor)));
    if (p.escalated) {
      wish[p.fn] = { n: 0, reason: 'escalated: restart intensity exceeded' };
    } else if (demand >= p.actors) {
      delete next.belowSince[p.fn];
      wish[p.fn] = { n: demand, reason: `queue depth ${queued}` };
    } else {
      const since = next.belowSince[p.fn] ?? now;
      next.belowSince[p.fn] = since;
      wish[p.fn] = now - since >= opts.cooldownMs ? { n: demand, reason: `queue depth ${queued} for ${Math.round((now - since) / 1000)} s` } : { n: p.actors, reason: 'cooling down' };
      if (now - since >= opts.cooldownMs) delete next.belowSince[p.fn];
    }
  }

  // Pack: every pool's min first, then growth by urgency, biggest shapes first within a class (first-fit decreasing).
  const order = [...pools].sort((a, b) => urgency(a.depth) - urgency(b.depth) || b.shape.cpus - a.shape.cpus || b.shape.memoryMb - a.shape.memoryMb || a.fn.localeCompare(b.fn));
  const free = { ...capacity };
  const targets: Record<string, number> = {};
  const take = (s: Resources) => {
    if (s.cpus > free.cpus + 1e-9 || s.memoryMb > free.memoryMb + 1e-9) return false;
    free.cpus -= s.cpus;
    free.memoryMb -= s.memoryMb;
    return true;
  };
  for (const p of order) {
    targets[p.fn] = 0;
    const s = fitShape(p.shape, capacity);
    const floor = p.escalated ? 0 : Math.min(p.min, wish[p.fn]!.n);
    while (targets[p.fn]! < floor && take(s)) targets[p.fn]!++;
  }
  for (const p of order) {
    const s = fitShape(p.shape, capacity);
    while (targets[p.fn]! < wish[p.fn]!.n && take(s)) targets[p.fn]!++;
  }

  const decisions: Decision[] = [];
  for (const p of pools) {
    const to = targets[p.fn]!;
    if (to === p.actors) continue;
    const held = to < wish[p.fn]!.n ? `; capacity holds it at ${to} of ${wish[p.fn]!.n}` : '';
    decisions.push({ fn: p.fn, from: p.actors, to, reason: `${wish[p.fn]!.reason}${held}` });
  }
  return { targets, decisions, memory: next };
}
