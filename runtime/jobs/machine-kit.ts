/**
 * Pieces every job machine declares the same way: placeholder steps, the
 * failed step's error in context, the cancel event and its final state, and
 * the output read from context. Context stays plain data (snapshots go to KV).
 */
import { type ActionFunction, assign, type DoneActorEvent, type EventObject, type InputFrom, type OutputFrom, type UnknownActorLogic } from 'xstate';
import type { ErrorBody } from '../../schemas/api.js';
import { ErrorCodes, VpipeError } from '../core/mod.js';

/** Placeholder logic for a step a machine declares and its service provides (`machine.provide`). Rejects if left unprovided. */
export const notProvided = (name: string) => async (): Promise<never> => {
  throw new Error(`step ${name} not provided`);
};

/** A failed step's error as a wire body: snapshots (and so context) must stay plain data. */
export function stepError(event: unknown): ErrorBody {
  return VpipeError.from((event as { error?: unknown }).error).toBody();
}

/** What every machine's context carries for its outcome: null until a step fails or the job is cancelled. */
export interface ErrorContext {
  error: ErrorBody | null;
}

/** The event that cancels a job from any state that is not final (the runner sends it on a cancel request). */
export interface CancelEvent {
  type: 'cancel';
}

/** The error a cancelled machine ends with (its output's `error`). */
export const CANCELLED_ERROR: ErrorBody = { code: ErrorCodes.Cancelled, message: 'cancelled by request', retryable: false };

/** How a machine ends: its result, or the error it failed or was cancelled with. `JobOutput` is this with an unknown result. */
export type Outcome<T> = { ok: true; result: T } | { ok: false; error: ErrorBody };

/** Action for a step's `onError`: the error event's error lands in `context.error` as a wire body. */
export function recordError<C extends ErrorContext>() {
  return assign<C, CancelEvent, undefined, CancelEvent, never>(({ event }) => ({ error: stepError(event) }) as Partial<C>);
}

/**
 * Cancellation, declared once: `onCancel` is (or is spread into) the machine's root `on`, and
 * `cancelled: cancelledState<Context>()` is one of its states. `{ type: 'cancel' }` in any non-final state
 * then exits it — which stops the invoked step and aborts the `signal` its `fromPromise` callback got — and
 * ends in `cancelled`, with CANCELLED_ERROR as the output's error. A machine already done ignores it.
 */
export const onCancel = { cancel: { target: '.cancelled' } } as const;

/** The final state `onCancel` goes to (see there). */
export function cancelledState<C extends ErrorContext>() {
  return { type: 'final' as const, entry: assign<C, CancelEvent, undefined, CancelEvent, never>(() => ({ error: CANCELLED_ERROR }) as Partial<C>) };
}

/**
 * The machine's output from its context: the error if a step failed or the job was cancelled, else
 * `result(context)`; a missing result (a final state reached without one) is an INTERNAL failure.
 */
export function outputOf<C extends ErrorContext, T>(context: C, result: (context: C) => T | null): Outcome<T> {
  if (context.error) return { ok: false, error: context.error };
  const r = result(context);
  return r === null ? { ok: false, error: { code: ErrorCodes.Internal, message: 'the machine ended without a result' } } : { ok: true, result: r };
}

/** What a step's output may be assigned to: the context fields whose type takes it. */
type FieldFor<C, T> = { [K in keyof C & string]: [T] extends [C[K]] ? K : never }[keyof C & string];

/** How one step state is wired: see {@link stepsFor}. */
export interface StepOptions<C, In, Out, T extends string, N extends string = never> {
  /** The step's input, from context. */
  input: (args: { context: C }) => In;
  /** The context field the step's output lands in; without it the output is dropped. */
  assign?: FieldFor<C, Out>;
  /** The state the machine goes to when the step is done. */
  next: T;
  /** A named action of the machine's, run when the step is done (after the assignment), e.g. a clock stamp. */
  then?: N;
  /** Where a failure goes instead of `failed` (with `recordError`): a step whose failure does not fail the job. */
  onError?: T;
}

/** The state {@link stepsFor} builds (`NoInfer`: the machine config around a call must not widen its names). */
export interface StepState<S extends string, C extends ErrorContext, In, Out, T extends string, N extends string, E extends EventObject> {
  invoke: {
    src: S;
    input: (args: { context: C }) => In;
    onDone: NoInfer<T> | { target: NoInfer<T>; actions: (ActionFunction<C, DoneActorEvent<Out>, E, undefined, never, never, never, never, never> | NoInfer<N>)[] };
    onError: NoInfer<T> | { target: 'failed'; actions: 'recordError' };
  };
}

/**
 * The step state every machine writes the same way: invoke `src` with `input`, then go to `next` (the
 * output assigned to the context field `assign` on the way), or on a failure to `failed` with the error
 * in context (`recordError`). `stepsFor<Context, typeof actors>()` binds it to a machine, so `src`, the
 * input and the field are checked against the step's logic:
 *
 *   planning: step('plan', { input: ({ context }) => context.job, assign: 'plan', next: 'dispatching' }),
 */
export function stepsFor<C extends ErrorContext, A extends Record<string, UnknownActorLogic>, E extends EventObject = CancelEvent>() {
  return <S extends keyof A & string, T extends string, N extends string = never>(src: S, o: StepOptions<C, InputFrom<A[S]>, OutputFrom<A[S]>, T, N>): StepState<S, C, InputFrom<A[S]>, OutputFrom<A[S]>, T, N, E> => {
    const field = o.assign;
    const save = field === undefined ? undefined : assign<C, DoneActorEvent<OutputFrom<A[S]>>, undefined, E, never>(({ event }) => ({ [field]: event.output }) as Partial<C>);
    const then: N[] = o.then === undefined ? [] : [o.then];
    return {
      invoke: {
        src,
        input: o.input,
        onDone: save === undefined ? (then.length ? { target: o.next, actions: then } : o.next) : { target: o.next, actions: [save, ...then] },
        onError: o.onError ?? { target: 'failed', actions: 'recordError' },
      },
    };
  };
}
