/** `--operation-id`: a full id or an unambiguous prefix of one (ids are uuids, long to type). */
import { UsageError } from '../errors.js';
import type { Store } from '../store/store.js';

/**
 * The operation id `given` names: itself when an operation has it, else the one operation whose
 * id starts with it. A prefix of several is refused listing them; no match is left to the
 * store's own "not found" error.
 */
export async function resolveOperationId(store: Store, cluster: string, given: string): Promise<string> {
  const ids = (await store.listOperations(cluster)).map((o) => o.id);
  if (ids.includes(given)) return given;
  const matches = ids.filter((id) => id.startsWith(given));
  if (matches.length === 1) return matches[0]!;
  if (matches.length > 1) {
    throw new UsageError('ERR_OPERATION_AMBIGUOUS', `operation id "${given}" matches ${matches.length} operations: ${matches.join(', ')}`, {
      hint: 'give more characters of the id ("hoist operation list" shows them)',
    });
  }
  return given;
}
