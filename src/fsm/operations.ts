/**
 * Operation lifecycle: create an upgrade (with Gravity's creation rules, spec §2.3) and finish it
 * (spec §2.5, with hoist's fix: a half-applied plan is never silently unlocked).
 */
import { StateError } from '../errors.js';
import type { Plan } from '../plan/types.js';
import type { ClusterRecord, Lease, OperationRecord, Store } from '../store/store.js';
import { PlanState } from './plan-state.js';

/** What the creator of an operation supplies. */
export interface NewUpgrade {
  plan: Plan;
  image: string;
  /** Absolute path of the target image. */
  source?: string;
  mode: 'manual' | 'automatic';
  createdBy: OperationRecord['createdBy'];
  /** Bypass "previous upgrade unfinished" (Gravity's --force). */
  force?: boolean;
  now?: Date;
  /** The cluster lease the writes are fenced with. */
  lease: Lease;
}

/** The record of a new, in-progress operation for `plan`. */
export function newOperationRecord(plan: Plan, req: Pick<NewUpgrade, 'image' | 'source' | 'mode' | 'createdBy' | 'now'>): OperationRecord {
  const now = (req.now ?? new Date()).toISOString();
  return {
    id: plan.operationId,
    type: 'upgrade',
    cluster: plan.cluster,
    state: 'in_progress',
    from: plan.from,
    to: plan.to,
    image: req.image,
    ...(req.source ? { source: req.source } : {}),
    mode: req.mode,
    created: now,
    updated: now,
    createdBy: req.createdBy,
  };
}

/**
 * Creates the operation and its plan and marks the cluster `updating`. The caller holds the
 * cluster lock. A cluster seen for the first time gets its record from the plan.
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
  await store.putCluster(
    { ...cluster, status: 'updating', activeOperation: op.id, lastOperation: op.id, updated: now },
    { lease: req.lease, expect: stored ?? null },
  );
  return op;
}

/** Leaf tallies used by completion and by `hoist status`. */
export interface PlanTally {
  total: number;
  completed: number;
  failed: number;
  inProgress: number;
  untouched: number;
}

/** Counts leaves by state; `untouched` = unstarted or rolled back. */
export function tally(state: PlanState): PlanTally {
  const t: PlanTally = { total: 0, completed: 0, failed: 0, inProgress: 0, untouched: 0 };
  for (const id of state.leafIds()) {
    t.total++;
    const s = state.stateOf(id);
    if (s === 'completed') t.completed++;
    else if (s === 'failed') t.failed++;
    else if (s === 'in_progress') t.inProgress++;
    else t.untouched++;
  }
  return t;
}

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
 * anything in between is refused unless forced.
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
