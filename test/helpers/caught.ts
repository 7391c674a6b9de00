/** The HoistError a promise rejects with; fails the test when it resolves or rejects with anything else. */
import { HoistError } from '../../src/errors.js';

export async function caught(p: Promise<unknown>): Promise<HoistError> {
  const err = await p.then(
    () => {
      throw new Error('expected a rejection, but the promise resolved');
    },
    (e: unknown) => e,
  );
  if (!HoistError.isHoistError(err)) throw err instanceof Error ? err : new Error(`expected a HoistError, got ${String(err)}`);
  return err;
}
