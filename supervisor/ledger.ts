/**
 * The node's ledger of reservations: every running work item holds its
 * shape here, and an item waits (first come, first served) until its shape
 * fits in what is left of the node's capacity. The supervisor hands it to
 * every pool it owns, so the packing the autoscaler plans is what runs.
 */
import { fitShape, type Reservation, type Reservations, type Resources, type Shape } from '../runtime/workers/mod.js';

export interface Held {
  fn: string;
  shape: Shape;
  since: number;
}

interface Waiter {
  fn: string;
  shape: Shape;
  grant: (r: Reservation) => void;
}

export class Ledger implements Reservations {
  private readonly held = new Set<Held>();
  private readonly waiting: Waiter[] = [];

  constructor(readonly capacity: Resources) {}

  /** What is reserved now, in all. */
  get used(): Resources {
    let cpus = 0;
    let memoryMb = 0;
    for (const h of this.held) {
      cpus += h.shape.cpus;
      memoryMb += h.shape.memoryMb;
    }
    return { cpus, memoryMb };
  }

  /** The reservations held now (for status, metrics and tests). */
  holdings(): Held[] {
    return [...this.held];
  }

  reserve(fn: string, shape: Shape, signal?: AbortSignal): Promise<Reservation> {
    const fitted = fitShape(shape, this.capacity);
    return new Promise((resolve, reject) => {
      if (signal?.aborted) return reject(signal.reason);
      const w: Waiter = { fn, shape: fitted, grant: resolve };
      const onAbort = () => {
        const i = this.waiting.indexOf(w);
        if (i >= 0) this.waiting.splice(i, 1);
        reject(signal!.reason);
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      w.grant = (r) => {
        signal?.removeEventListener('abort', onAbort);
        resolve(r);
      };
      this.waiting.push(w);
      this.admit();
    });
  }

  private fits(s: Resources): boolean {
    const u = this.used;
    return u.cpus + s.cpus <= this.capacity.cpus + 1e-9 && u.memoryMb + s.memoryMb <= this.capacity.memoryMb + 1e-9;
  }

  /** Grants waiting reservations in order while the first one fits (no overtaking: a big shape is not starved by small ones). */
  private admit(): void {
    while (this.waiting.length > 0 && this.fits(this.waiting[0]!.shape)) {
      const w = this.waiting.shift()!;
      const h: Held = { fn: w.fn, shape: w.shape, since: Date.now() };
      this.held.add(h);
      let released = false;
      w.grant({
        shape: w.shape,
        release: () => {
          if (released) return;
          released = true;
          this.held.delete(h);
          this.admit();
        },
      });
    }
  }
}
