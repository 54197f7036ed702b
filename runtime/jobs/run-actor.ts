/** Runs a machine to its final state, in-process, for work that needs no persisted snapshot (a chunk job). */
import { type AnyActorLogic, type AnyStateMachine, createActor, type OutputFrom, toPromise } from 'xstate';
import { ErrorCodes, VpipeError } from '../core/mod.js';

/**
 * Resolves with the machine's output once it reaches a final state; rejects with the actor's error if it
 * fails, or with CANCELLED as soon as `signal` aborts (the actor is then stopped, which aborts its step).
 */
export function runToCompletion<M extends AnyStateMachine>(machine: M, input: unknown, signal?: AbortSignal): Promise<OutputFrom<M>> {
  const interrupted = () => new VpipeError(ErrorCodes.Cancelled, 'interrupted');
  if (signal?.aborted) return Promise.reject(interrupted());
  const actor = createActor(machine as AnyActorLogic, { input });
  const done = toPromise(actor) as Promise<OutputFrom<M>>;
  if (!signal) {
    actor.start();
    return done;
  }
  let onAbort!: () => void;
  // Rejected before the stop: a stopped actor completes, and toPromise would resolve with no output.
  const aborted = new Promise<never>((_, reject) => {
    onAbort = () => {
      reject(interrupted());
      actor.stop();
    };
  });
  signal.addEventListener('abort', onAbort, { once: true });
  actor.start();
  return Promise.race([done, aborted]).finally(() => signal.removeEventListener('abort', onAbort));
}
