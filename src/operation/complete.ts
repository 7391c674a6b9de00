/**
 * Finishing an operation (spec §2.5, with hoist's fix: a half-applied plan is never silently
 * unlocked).
 */
import { StateError } from '../errors.js';
import type { PlanState } from '../fsm/plan-state.js';
import type { ClusterRecord, Lease, OperationRecord, Store } from '../store/store.js';
import { crashPoint } from './crash-point.js';
import { tally } from './tally.js';

/** Outcome of `plan complete`. */
export interface Completion {
  operation: OperationRecord;
  cluster: ClusterRecord;
  /** True when a partly applied plan was closed with --force. */
  forced: boolean;
}

/**
 * `plan complete`: all leaves completed → operation completed and the cluster active at the new
 * version; nothing applied → operation failed and the cluster active at the old version;
 * anything in between is refused unless forced. The caller holds the cluster lock and read `op`
 * inside it; the operation record is written first, the cluster record (derived) second.
 */
export async function completeUpgrade(
  store: Store,
  op: OperationRecord,
  state: PlanState,
  opts: { lease: Lease; force?: boolean; reason?: string; now?: Date },
): Promise<Completion> {
  if (op.state !== 'in_progress') {
    throw new StateError('ERR_OPERATION_FINISHED', `operation ${op.id} is already ${op.state}`, { hint: 'see "hoist status"' });
  }
  const t = tally(state);
  const now = (opts.now ?? new Date()).toISOString();
  const done = t.completed === t.total;
  const untouched = t.untouched === t.total;
  if (!done && !untouched && !opts.force) {
    throw new StateError(
      'ERR_PLAN_PARTLY_APPLIED',
      `operation ${op.id} is partly applied: ${t.completed} of ${t.total} phases completed, ${t.failed} failed, ${t.inProgress} in progress`,
      {
        hint: 'finish it with "hoist plan resume", undo it with "hoist rollback", or close it as failed with "hoist plan complete --force" (the cluster then stays partly upgraded)',
      },
    );
  }
  const finished: OperationRecord = done
    ? { ...op, state: 'completed', updated: now }
    : {
        ...op,
        state: 'failed',
        updated: now,
        reason: opts.reason ?? (untouched ? 'completed manually' : 'completed manually with --force while partly applied'),
      };
  await store.updateOperation(finished, { lease: opts.lease, expect: op });
  crashPoint('complete:operation-written');
  const current = await store.getCluster(op.cluster);
  const cluster: ClusterRecord = {
    name: op.cluster,
    status: 'active',
    image: done ? { name: op.image, version: op.to } : (current?.image ?? { name: op.image, version: op.from }),
    lastOperation: op.id,
    updated: now,
  };
  await store.putCluster(cluster, { lease: opts.lease, expect: current ?? null });
  return { operation: finished, cluster, forced: !done && !untouched };
}
