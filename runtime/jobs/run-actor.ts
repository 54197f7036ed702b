/** Runs a machine to its final state and returns its output; stops it if `signal` aborts (then rejects with CANCELLED). */
import { createActor, type AnyActorLogic, type AnyStateMachine, type OutputFrom } from 'xstate';
import { ErrorCodes, VpipeError } from '../core/mod.js';

export function runToCompletion<M extends AnyStateMachine>(machine: M, input: unknown, signal?: AbortSignal): Promise<OutputFrom<M>> {
  return new Promise((resolve, reject) => {
    const actor = createActor(machine as AnyActorLogic, { input });
    const onAbort = () => {
      actor.stop();
      reject(new VpipeError(ErrorCodes.Cancelled, 'interrupted'));
    };
    if (signal?.aborted) return onAbort();
    signal?.addEventListener('abort', onAbort, { once: true });
    actor.subscribe({
      next: (snap) => {
        const s = snap as { status: string; output?: unknown };
        if (s.status === 'done') {
          signal?.removeEventListener('abort', onAbort);
          resolve(s.output as OutputFrom<M>);
        }
      },
      error: (e) => {
        signal?.removeEventListener('abort', onAbort);
        reject(e);
      },
    });
    actor.start();
  });
}
