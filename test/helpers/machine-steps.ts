/**
 * Fake steps for job-machine tests, and the three moves every machine is
 * tested with: persist mid-step, restore and finish, cancel mid-step.
 * Shared by test/machines.test.ts and the service suites.
 */
import { expect } from 'vitest';
import { type AnyStateMachine, createActor, fromPromise, type Snapshot, waitFor } from 'xstate';
import { ErrorCodes, VpipeError } from '../../runtime/core/mod.js';

export const CANCELLED_OUTPUT = { ok: false, error: { code: 'CANCELLED', message: 'cancelled by request', retryable: false } };

/**
 * Fake steps: each counts its calls and keeps the signal it was given; a held step waits until
 * released (or rejects when its signal aborts, as a killed ffmpeg would).
 */
export class FakeSteps {
  readonly calls: string[] = [];
  readonly signals = new Map<string, AbortSignal>();
  readonly inputs = new Map<string, unknown>();
  private readonly releases = new Map<string, () => void>();
  constructor(private readonly held: string[] = []) {}

  step<I, O>(name: string, answer: (input: I) => O) {
    return fromPromise<O, I>(async ({ input, signal }) => {
      this.calls.push(name);
      this.signals.set(name, signal);
      this.inputs.set(name, input);
      if (this.held.includes(name)) {
        await new Promise<void>((resolve, reject) => {
          this.releases.set(name, resolve);
          signal.addEventListener('abort', () => reject(new VpipeError(ErrorCodes.Cancelled, 'killed')), { once: true });
        });
      }
      return answer(input);
    });
  }

  release(name: string): void {
    this.releases.get(name)?.();
  }
}

/** Runs a machine until `state`, persists it through JSON as the job store does, and stops it as a crash would. */
export async function persistAt(machine: AnyStateMachine, input: unknown, state: string): Promise<Snapshot<unknown>> {
  const actor = createActor(machine, { input }).start();
  await waitFor(actor, (s) => s.value === state);
  const persisted = JSON.parse(JSON.stringify(actor.getPersistedSnapshot())) as Snapshot<unknown>;
  actor.stop();
  return persisted;
}

/** Restores a persisted snapshot with fresh fake steps and runs it to its end. */
export async function finishFrom(provided: (steps: FakeSteps) => AnyStateMachine, input: unknown, persisted: Snapshot<unknown>) {
  const steps = new FakeSteps();
  const snap = await waitFor(createActor(provided(steps), { input, snapshot: persisted }).start(), (s) => s.status === 'done');
  return { steps, snap };
}

/**
 * Holds `step`, waits for `state`, sends cancel, and checks the end every machine shares: the
 * `cancelled` state, the CANCELLED output, and the held step's own signal aborted.
 */
export async function cancelDuring(provided: (steps: FakeSteps) => AnyStateMachine, input: unknown, state: string, step: string) {
  const steps = new FakeSteps([step]);
  const actor = createActor(provided(steps), { input }).start();
  await waitFor(actor, (s) => s.value === state);
  actor.send({ type: 'cancel' });
  const snap = await waitFor(actor, (s) => s.status === 'done');
  expect(snap.value).toBe('cancelled');
  expect(snap.output).toEqual(CANCELLED_OUTPUT);
  expect(steps.signals.get(step)?.aborted).toBe(true);
  return { steps, persisted: JSON.parse(JSON.stringify(actor.getPersistedSnapshot())) as Snapshot<unknown> };
}
