/** Creating an upgrade operation, with Gravity's creation rules (spec §2.3). */
import { StateError } from '../errors.js';
import { PlanState } from '../fsm/plan-state.js';
import type { ClusterRecord, OperationRecord, Store } from '../store/store.js';
import { crashPoint } from './crash-point.js';
import { type NewUpgrade, newOperationRecord } from './records.js';
import { tally } from './tally.js';

/**
 * Creates the operation and its plan and marks the cluster `updating`. The caller holds the
 * cluster lock and has repaired the cluster record (reconcile.ts), which is written second. A
 * cluster seen for the first time gets its record from the plan.
 */
export async function createUpgrade(store: Store, req: NewUpgrade): Promise<OperationRecord> {
  const { plan } = req;
  const now = (req.now ?? new Date()).toISOString();
  const stored = await store.getCluster(plan.cluster);
  const cluster: ClusterRecord = stored ?? {
    name: plan.cluster,
    status: 'active',
    image: { name: req.image, version: plan.from },
    updated: now,
  };
  if (cluster.status !== 'active') {
    const active = cluster.activeOperation;
    throw new StateError(
      'ERR_CLUSTER_NOT_ACTIVE',
      `cluster "${plan.cluster}" is currently ${cluster.status}${active ? ` (operation ${active})` : ''}`,
      {
        hint: active
          ? `resume it with "hoist plan resume", undo it with "hoist rollback", or finish it with "hoist plan complete"; see "hoist status"`
          : 'see "hoist status"',
      },
    );
  }
  if (cluster.image.version !== plan.from) {
    throw new StateError(
      'ERR_INSTALLED_VERSION_MISMATCH',
      `cluster "${plan.cluster}" has ${cluster.image.version} installed according to the store, but the cluster state says ${plan.from}`,
      {
        hint: 'check the state file (--state) or the cluster; the store records what hoist last installed',
      },
    );
  }
  const last = (await store.listOperations(plan.cluster)).find((op) => op.type === 'upgrade');
  if (last && !req.force) {
    if (last.state === 'in_progress') {
      throw new StateError('ERR_UPGRADE_UNFINISHED', `the last upgrade operation (${last.id}) is still in progress`, {
        hint: 'resume or roll it back first, or pass --force to override this check',
      });
    }
    if (last.state === 'failed') {
      const previous = new PlanState(await store.getPlan(plan.cluster, last.id), await store.readChanges(plan.cluster, last.id));
      const t = tally(previous);
      if (t.untouched !== t.total) {
        throw new StateError('ERR_UPGRADE_NOT_ROLLED_BACK', `the last upgrade operation (${last.id}) failed and is not fully rolled back`, {
          hint: 'the cluster may be partly upgraded; check it, then pass --force to create a new upgrade anyway',
        });
      }
    }
  }
  const op = newOperationRecord(plan, req);
  await store.createOperation(op, plan, req.lease);
  crashPoint('create:operation-written');
  await store.putCluster(
    { ...cluster, status: 'updating', activeOperation: op.id, lastOperation: op.id, updated: now },
    { lease: req.lease, expect: stored ?? null },
  );
  return op;
}
