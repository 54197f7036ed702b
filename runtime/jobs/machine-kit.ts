/** Pieces every job machine declares the same way. */
import type { ErrorBody } from '../../schemas/api.js';
import { VpipeError } from '../core/mod.js';

/** Placeholder logic for a step a machine declares and its service provides (`machine.provide`). Rejects if left unprovided. */
export const notProvided = (name: string) => async (): Promise<never> => {
  throw new Error(`step ${name} not provided`);
};

/** A failed step's error as a wire body: snapshots (and so context) must stay plain data. */
export function stepError(event: unknown): ErrorBody {
  return VpipeError.from((event as { error?: unknown }).error).toBody();
}
