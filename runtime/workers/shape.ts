/**
 * Shapes and reservations. A shape is what one piece of work takes of a
 * node while it runs (like a container's requests); the work is then run
 * with exactly those CPUs as threads. A work item reserves its own shape
 * when an actor takes it — a 1080p chunk and a 360p chunk in one pool take
 * different shapes — and the node's ledger (the supervisor's) holds it back
 * until that much is free.
 */

/** CPUs and memory: what a node has, or what a piece of work takes. */
export interface Resources {
  cpus: number;
  memoryMb: number;
}

/** The one shape type: named resources (`small` … `2xlarge`). */
export interface Shape extends Resources {
  name: string;
}

/** A held reservation: `shape` is what was granted (never more than the node has). */
export interface Reservation {
  shape: Shape;
  release(): void;
}

/** Grants reservations against a node's capacity. */
export interface Reservations {
  /** Waits until `shape` fits (or `signal` aborts: then rejects) and holds it until released. */
  reserve(fn: string, shape: Shape, signal?: AbortSignal): Promise<Reservation>;
}

/** A shape never asks for more than the whole node: a big shape on a small node still gets to run, alone. */
export function fitShape<T extends Resources>(shape: T, capacity: Resources): T {
  return { ...shape, cpus: Math.min(shape.cpus, capacity.cpus), memoryMb: Math.min(shape.memoryMb, capacity.memoryMb) };
}

/** No ledger (a pool outside any supervisor): every reservation is granted at once, as asked. */
export const UNLIMITED: Reservations = {
  reserve: (_fn, shape) => Promise.resolve({ shape, release: () => undefined }),
};
