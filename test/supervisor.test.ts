/**
 * The supervisor against a real nats-server: a burst of work scales a pool
 * up to its max within capacity and back to min after the cooldown; a pool
 * whose actors keep crashing escalates and stops, and runs again after its
 * hold-off.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { metrics } from '../runtime/core/metrics.js';
import { ensureTopology, topologyFromEnv, workSubject } from '../runtime/nats/topology.js';
import { Supervisor } from '../supervisor/supervisor.js';
import { RetryPolicy } from '../runtime/core/mod.js';

const fastBackoff = new RetryPolicy({ initialIntervalMs: 10, backoffCoefficient: 2, maximumIntervalMs: 50, maximumAttempts: 0 });
import { startTestStack, type TestStack } from './helpers/stack.js';
import { eventually } from './helpers/stack-process.js';

let stack: TestStack;

beforeAll(async () => {
  stack = await startTestStack('sup', { roles: ['api'] });
  const { nc, jsm } = stack.node.ctx;
  await ensureTopology(nc, jsm, ['encode.test', 'encode.crash', 'encode.heal'], topologyFromEnv({}));
});

afterAll(async () => {
  await stack?.cleanup();
});

const shape = { name: 'small', cpus: 1, memoryMb: 256 };
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('supervisor', () => {
  it('scales a burst up to max within capacity, then back to min after the cooldown', async () => {
    const ctx = stack.node.ctx;
    let done = 0;
    const sup = new Supervisor(ctx, [{ fn: 'encode.test', shape, min: 1, max: 6, handler: async () => (await sleep(150), done++, { ack: true }) }], {
      capacity: { cpus: 4, memoryMb: 4096 },
      intervalMs: 100,
      cooldownMs: 1_000,
    });
    sup.start();
    try {
      expect(sup.actors()['encode.test']).toBe(1);
      const t0 = Date.now();
      for (let i = 0; i < 60; i++) await ctx.js.publish(workSubject('encode.test', 'normal'), new Uint8Array([i]));
      // Max is 6, but the node has 4 CPUs and an actor reserves one.
      await eventually(() => (sup.actors()['encode.test'] === 4 ? true : undefined), 5_000, 'four actors');
      const scaledUp = Date.now() - t0;
      expect(scaledUp).toBeLessThan(3_000);
      await eventually(() => (done === 60 ? true : undefined), 30_000, 'all work done');
      const drained = Date.now();
      await eventually(() => (sup.actors()['encode.test'] === 1 ? true : undefined), 5_000, 'back to min');
      expect(Date.now() - drained).toBeGreaterThanOrEqual(800); // not before the cooldown
    } finally {
      await sup.stop(500);
    }
  });

  it('escalates a pool whose actors keep crashing, and stops it', async () => {
    const ctx = stack.node.ctx;
    let calls = 0;
    const sup = new Supervisor(ctx, [{ fn: 'encode.crash', shape, min: 1, max: 1, handler: async () => { calls++; throw new Error('ffmpeg died'); } }], {
      capacity: { cpus: 2, memoryMb: 2048 },
      intervalMs: 100,
      intensity: { maxRestarts: 2, periodMs: 10_000, backoff: fastBackoff },
      escalationHoldMs: 0, // stays stopped
    });
    sup.start();
    try {
      await ctx.js.publish(workSubject('encode.crash', 'normal'), new Uint8Array([1]));
      await eventually(() => (sup.actors()['encode.crash'] === 0 ? true : undefined), 10_000, 'the pool to stop');
      expect(calls).toBe(3); // two restarts allowed, the third crash escalates
      await sleep(300);
      expect(sup.actors()['encode.crash']).toBe(0); // the autoscaler keeps it stopped
    } finally {
      await sup.stop(200);
    }
  });

  it('lets an escalated pool run again after its hold-off, and the held work gets done', async () => {
    const ctx = stack.node.ctx;
    let calls = 0;
    let healed = false;
    let done = 0;
    const sup = new Supervisor(
      ctx,
      [
        {
          fn: 'encode.heal',
          shape,
          min: 1,
          max: 1,
          handler: async () => {
            calls++;
            if (!healed) throw new Error('disk full');
            done++;
            return { ack: true };
          },
        },
      ],
      { capacity: { cpus: 2, memoryMb: 2048 }, intervalMs: 100, intensity: { maxRestarts: 1, periodMs: 10_000, backoff: fastBackoff }, escalationHoldMs: 1_000 },
    );
    sup.start();
    try {
      await ctx.js.publish(workSubject('encode.heal', 'normal'), new Uint8Array([1]));
      await eventually(() => (sup.actors()['encode.heal'] === 0 ? true : undefined), 10_000, 'the pool to escalate');
      const escalatedAt = Date.now();
      expect((await metrics.poolEscalated.get()).values.find((v) => v.labels.function === 'encode.heal')?.value).toBe(1);
      healed = true; // the cause goes away while the pool is held
      await eventually(() => (sup.actors()['encode.heal'] === 1 ? true : undefined), 5_000, 'the pool back');
      expect(Date.now() - escalatedAt).toBeGreaterThanOrEqual(800); // not before the hold-off
      await eventually(() => (done === 1 ? true : undefined), 10_000, 'the held work done'); // redelivered after its nak delay
      expect(calls).toBeGreaterThanOrEqual(3);
      expect((await metrics.poolEscalated.get()).values.find((v) => v.labels.function === 'encode.heal')?.value).toBe(0);
    } finally {
      await sup.stop(200);
    }
  });
});
