/** Shared bits of the config tests: fixture paths and capturing the InputError a loader throws. */
import { fileURLToPath } from 'node:url';
import { expect } from 'vitest';
import { ExitCode, HoistError, InputError } from '../../../src/errors.js';

/** Absolute path of a file under fixtures/. */
export function fixture(rel: string): string {
  return fileURLToPath(new URL(`../../../fixtures/${rel}`, import.meta.url));
}

/** Awaits a promise that must reject with an exit-3 InputError, and returns the error. */
export async function inputError(promise: Promise<unknown>): Promise<InputError> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(InputError);
  const error = err as InputError;
  expect(HoistError.isHoistError(error)).toBe(true);
  expect(error.exitCode).toBe(ExitCode.invalidInput);
  expect(error.hint).toBeTruthy();
  return error;
}
