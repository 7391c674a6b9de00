/**
 * Moving a cluster's operations between stores (`hoist store copy`): the cluster record, every
 * operation with its plan and changelog. Both leases are held throughout, so nobody starts an
 * operation on either side meanwhile; a live operation (in progress) is refused, as is a target
 * that already knows the cluster. The target's lease epoch starts above the source's, so a
 * fencing token never goes backwards for the cluster.
 */
import { StateError } from '../errors.js';
import type { Lease, LeaseOwner, Store } from './store.js';

/** What a copy moved. */
export interface CopySummary {
  cluster: string;
  operations: number;
  changes: number;
}

/** Copies cluster `cluster` from `from` to `to`; `where` names both for messages. */
export async function copyCluster(
  from: Store,
  to: Store,
  cluster: string,
  owner: LeaseOwner,
  where: { from: string; to: string },
): Promise<CopySummary> {
  const held: Lease[] = [];
  try {
    const source = await from.lock(cluster, owner);
    held.push(source);
    const ops = await from.listOperations(cluster);
    const live = ops.find((o) => o.state === 'in_progress');
    if (live) {
      throw new StateError('ERR_STORE_COPY_LIVE', `operation ${live.id} of cluster "${cluster}" is still in progress in ${where.from}`, {
        hint: 'finish it first ("hoist plan resume", "hoist rollback" or "hoist plan complete"), then copy',
      });
    }
    const record = await from.getCluster(cluster);
    if ((await to.getCluster(cluster)) || (await to.listOperations(cluster)).length > 0) {
      throw new StateError('ERR_STORE_COPY_TARGET_USED', `${where.to} already holds cluster "${cluster}"`, {
        hint: 'copy into a store (or key prefix) that does not know this cluster yet',
      });
    }
    let target = await to.lock(cluster, owner);
    held.push(target);
    // Epochs only grow: take the target lease again until it is above the source's.
    while (target.epoch <= source.epoch) {
      await target.release();
      target = await to.lock(cluster, owner);
      held.push(target);
    }
    let changes = 0;
    // Oldest first, so that the target lists them in the same order.
    for (const op of [...ops].reverse()) {
      await to.createOperation(op, await from.getPlan(cluster, op.id), target);
      for (const c of await from.readChanges(cluster, op.id)) {
        const { seq: _seq, ...change } = c;
        await to.appendChange(cluster, op.id, change, target);
        changes += 1;
      }
    }
    if (record) await to.putCluster(record, { lease: target, expect: null });
    return { cluster, operations: ops.length, changes };
  } finally {
    for (const lease of held.reverse()) await lease.release().catch(() => undefined);
  }
}
