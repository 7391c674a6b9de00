/**
 * The one way a workflow reaches an existing operation: under the cluster lock, after repairing
 * the cluster record (reconcile.ts), with the operation record read inside the lock. A record
 * read before the lock (say, shown at a confirmation prompt) is compared with the fresh one, so
 * a command that waited never writes back over what another command did meanwhile.
 */
import { StateError } from '../errors.js';
import type { Lease, LeaseRequest, OperationRecord } from '../store/store.js';
import { releaseNodes } from './agents.js';
import type { OperationEnv } from './env.js';
import { type DerivedCluster, repairCluster } from './reconcile.js';

/** How a command names the operation it acts on. */
export interface OperationRef {
  cluster: string;
  /** --operation-id; default: the active operation. */
  id?: string;
  /** The record as read before the lock; the command is refused if it changed since. */
  seen?: OperationRecord;
}

/** What `withOperation` hands to its body. */
export interface LockedOperation {
  op: OperationRecord;
  /** Repairs of the cluster record made on the way in (already reported on stderr). */
  repairs: string[];
  /** The cluster lease every write inside is fenced with. */
  lease: Lease;
}

/**
 * Runs `fn` under the cluster lock with the operation re-read inside it. `finished` lets the
 * body see an operation that is no longer in progress (`plan complete` reports its repair);
 * `quiet` keeps the operation's debug log untouched (dry runs); `request` is passed to the lease.
 */
export async function withOperation<T>(
  env: OperationEnv,
  ref: OperationRef,
  fn: (locked: LockedOperation) => Promise<T>,
  opts: { finished?: boolean; quiet?: boolean; request?: LeaseRequest } = {},
): Promise<T> {
  return env.withLock(
    ref.cluster,
    async (lease) => {
      const store = env.store();
      const before = await store.getCluster(ref.cluster);
      const { record, repairs } = await repairRecords(env, ref.cluster, lease, { nodes: !opts.quiet });
      const id = ref.id ?? ref.seen?.id ?? record?.activeOperation ?? (opts.finished ? before?.activeOperation : undefined);
      if (!id) throw operationNotActive(ref.cluster);
      const op = await store.getOperation(ref.cluster, id);
      if (ref.seen && (op.state !== ref.seen.state || op.updated !== ref.seen.updated)) {
        throw new StateError(
          'ERR_OPERATION_CHANGED',
          `operation ${op.id} changed while this command waited for the cluster lock: it is ${op.state} (updated ${op.updated}), it was ${ref.seen.state} (updated ${ref.seen.updated})`,
          { hint: 'see "hoist status" and "hoist plan", then run the command again if it still applies' },
        );
      }
      if (op.state !== 'in_progress' && !opts.finished) throw operationNotActive(ref.cluster, op);
      if (!opts.quiet) {
        env.useOperationLog(op);
        // Reported on stderr above; the debug log keeps it too.
        for (const r of repairs) env.logger.info({ event: 'records.repaired', operation: op.id }, r);
      }
      return fn({ op, repairs, lease });
    },
    opts.request,
  );
}

/**
 * Under the cluster lease: repairs the cluster record after a crash between two record writes,
 * saying so on stderr. When the crash cut a close short, the closed operation's node leases
 * are released too (`nodes`), or every agent would refuse the next operation until they expire.
 */
export async function repairRecords(env: OperationEnv, cluster: string, lease: Lease, opts: { nodes: boolean }): Promise<DerivedCluster> {
  const derived = await repairCluster(env.store(), cluster, lease);
  for (const r of derived.repairs) env.progress.line(`Repaired the records: ${r}.`);
  if (derived.closed && opts.nodes) await releaseNodes(env, derived.closed);
  return derived;
}

/** No operation to act on: none active, or the named one already finished. */
export function operationNotActive(cluster: string, op?: OperationRecord): StateError {
  return new StateError(
    'ERR_NO_ACTIVE_OPERATION',
    op ? `operation ${op.id} is already ${op.state}` : `no active operation found for cluster "${cluster}"`,
    { hint: 'start one with "hoist upgrade IMAGE --manual", or see "hoist status"' },
  );
}
