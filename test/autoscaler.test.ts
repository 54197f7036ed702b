import { describe, expect, it } from 'vitest';
import { decide, type PoolState, type ScalerMemory } from '../supervisor/autoscaler.js';
import { restartPolicy } from '../supervisor/restarts.js';
import { RetryPolicy } from '../runtime/core/mod.js';

const depth = (high = 0, normal = 0, low = 0) => ({ high, normal, low });
const pool = (fn: string, d: PoolState['depth'], actors: number, cpus = 1, extra: Partial<PoolState> = {}): PoolState => ({
  fn, depth: d, actors, shape: { cpus, memoryMb: 512 * cpus }, min: 0, max: 16, ...extra,
});
const big = { cpus: 16, memoryMb: 32_768 };
const empty: ScalerMemory = { belowSince: {} };
const opts = { itemsPerActor: 1, cooldownMs: 10_000 };

describe('autoscaler decision', () => {
  it('scales up to the queue depth at once, bounded by max', () => {
    const r = decide([pool('encode.h264', depth(0, 12, 0), 1, 1, { max: 8 })], big, 0, empty, opts);
    expect(r.targets['encode.h264']).toBe(8);
    expect(r.decisions).toEqual([{ fn: 'encode.h264', from: 1, to: 8, reason: 'queue depth 12' }]);
  });

  it('scales down to min only after the cooldown (simulated clock)', () => {
    let mem = empty;
    const p = pool('encode.h264', depth(), 6, 1, { min: 1 });
    for (const t of [0, 5_000, 9_999]) {
      const r = decide([p], big, t, mem, opts);
      expect(r.targets['encode.h264']).toBe(6);
      mem = r.memory;
    }
    const r = decide([p], big, 10_000, mem, opts);
    expect(r.targets['encode.h264']).toBe(1);
    expect(r.decisions[0]!.reason).toMatch(/queue depth 0 for 10 s/);
  });

  it('restarts the cooldown when work comes back', () => {
    const p = pool('encode.h264', depth(), 4);
    let r = decide([p], big, 0, empty, opts);
    r = decide([{ ...p, depth: depth(0, 5) }], big, 6_000, r.memory, opts);
    r = decide([p], big, 12_000, r.memory, opts);
    expect(r.targets['encode.h264']).toBe(4); // only 0 s below since the burst
  });

  it('never exceeds capacity and gives high-priority work actors first', () => {
    const pools = [pool('encode.av1', depth(0, 0, 10), 0, 4), pool('encode.h264', depth(3, 0, 0), 0, 2)];
    const r = decide(pools, { cpus: 8, memoryMb: 8192 }, 0, empty, opts);
    expect(r.targets['encode.h264']).toBe(3); // 6 cpus for the high work
    expect(r.targets['encode.av1']).toBe(0); // 2 cpus left: not enough for a 4-cpu actor
    const used = r.targets['encode.h264']! * 2 + r.targets['encode.av1']! * 4;
    expect(used).toBeLessThanOrEqual(8);
  });

  it('packs biggest shapes first within a priority class (first-fit decreasing)', () => {
    const pools = [pool('encode.h264', depth(0, 5), 0, 1), pool('encode.hevc', depth(0, 1), 0, 3)];
    const r = decide(pools, { cpus: 4, memoryMb: 8192 }, 0, empty, opts);
    expect(r.targets).toEqual({ 'encode.hevc': 1, 'encode.h264': 1 });
  });

  it('keeps every pool at its min before growing any', () => {
    const pools = [pool('encode.h264', depth(0, 50), 0, 1, { min: 1 }), pool('encode.vp9', depth(), 0, 1, { min: 1 })];
    const r = decide(pools, { cpus: 3, memoryMb: 4096 }, 0, empty, opts);
    expect(r.targets).toEqual({ 'encode.h264': 2, 'encode.vp9': 1 });
  });

  it('lets a shape bigger than the node run alone, and gives scarce capacity to the pool with work', () => {
    const alone = decide([pool('encode.av1', depth(0, 3), 0, 8)], { cpus: 2, memoryMb: 4096 }, 0, empty, opts);
    expect(alone.targets['encode.av1']).toBe(1);
    const pools = [pool('encode.h264', depth(0, 50), 0, 1, { min: 1 }), pool('encode.av1', depth(), 0, 8, { min: 1 })];
    const r = decide(pools, { cpus: 2, memoryMb: 4096 }, 0, empty, opts);
    expect(r.targets).toEqual({ 'encode.h264': 2, 'encode.av1': 0 });
  });

  it('gives an escalated pool no actors', () => {
    const r = decide([pool('encode.vp9', depth(9), 3, 1, { escalated: true, min: 1 })], big, 0, empty, opts);
    expect(r.targets['encode.vp9']).toBe(0);
    expect(r.decisions[0]!.reason).toMatch(/escalated/);
  });
});

describe('restart intensity', () => {
  const o = { maxRestarts: 3, periodMs: 10_000, backoff: new RetryPolicy({ initialIntervalMs: 100, backoffCoefficient: 2, maximumIntervalMs: 5_000, maximumAttempts: 0 }) };
  it('backs off exponentially and escalates past the intensity within the period', () => {
    let restarts: number[] = [];
    const seen: { backoffMs: number; escalate: boolean }[] = [];
    for (const t of [0, 1_000, 2_000, 3_000]) {
      const r = restartPolicy(restarts, t, o);
      restarts = r.restarts;
      seen.push({ backoffMs: r.backoffMs, escalate: r.escalate });
    }
    expect(seen.map((s) => s.backoffMs)).toEqual([100, 200, 400, 800]);
    expect(seen.map((s) => s.escalate)).toEqual([false, false, false, true]);
  });
  it('forgets restarts older than the period', () => {
    const r = restartPolicy([0, 1_000, 2_000], 20_000, o);
    expect(r.restarts).toEqual([20_000]);
    expect(r.escalate).toBe(false);
  });
});
