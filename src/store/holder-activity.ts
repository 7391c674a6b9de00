/**
 * What the holder of a cluster lease is doing, for ERR_LOCK_HELD: the lease record names the
 * process, the cluster record its active operation, and that operation's changelog the phases
 * still in progress. Read after the refusal, outside the guard, and only to explain it: a read
 * that fails leaves the message as it was.
 */
import { HoistError, StateError } from '../errors.js';
import type { Store } from './store.js';

/** Phases named before "and N more": a 50-worker batch would otherwise fill the screen. */
const MAX_PHASES = 4;

/** `err` (ERR_LOCK_HELD) with what the holder is doing appended; any other error unchanged. */
export async function explainLockHeld(store: Pick<Store, 'getCluster' | 'readChanges'>, cluster: string, err: unknown): Promise<never> {
  if (!HoistError.isHoistError(err) || err.code !== 'ERR_LOCK_HELD') throw err;
  let doing: string;
  try {
    doing = await holderActivity(store, cluster);
  } catch {
    // The refusal stands on its own; what the holder does is only an explanation.
    throw err;
  }
  throw new StateError(err.code, `${err.message}, ${doing}`, {
    ...(err.hint ? { hint: err.hint } : {}),
    details: err.details,
    cause: err,
  });
}

/** "running /masters/node-2/drain of operation ID", "no phase running in operation ID" or "no operation active". */
export async function holderActivity(store: Pick<Store, 'getCluster' | 'readChanges'>, cluster: string): Promise<string> {
  const id = (await store.getCluster(cluster))?.activeOperation;
  if (!id) return 'no operation active';
  const last = new Map<string, string>();
  for (const change of await store.readChanges(cluster, id)) last.set(change.phase, change.state);
  const running = [...last].filter(([, state]) => state === 'in_progress').map(([phase]) => phase);
  // A group in progress is named by its leaves that are.
  const deepest = running.filter((p) => !running.some((q) => q.startsWith(`${p}/`))).sort();
  if (deepest.length === 0) return `no phase running in operation ${id}`;
  const more = deepest.length > MAX_PHASES ? ` and ${deepest.length - MAX_PHASES} more` : '';
  return `running ${deepest.slice(0, MAX_PHASES).join(', ')}${more} of operation ${id}`;
}
