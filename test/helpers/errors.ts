/** Test helper: a promise that must reject with a VpipeError of one code. */
import { expect } from 'vitest';
import { VpipeError } from '../../runtime/core/errors.js';

/** Resolves with the VpipeError `p` rejected with, after asserting its class and code. */
export async function expectVpipeError(p: Promise<unknown>, code: string): Promise<VpipeError> {
  const e = await p.then(
    () => null,
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(VpipeError);
  expect((e as VpipeError).code).toBe(code);
  return e as VpipeError;
}
