/**
 * The Store interface: where clusters, operations, plans and changelogs live. The JSON file
 * store is the embedded default; a distributed backend (etcd) can implement the same contract.
 *
 * Invariants every backend keeps:
 * - an operation and its plan are created together or not at all;
 * - a plan is never rewritten after creation;
 * - changelog entries get a strictly increasing `seq` per operation and are durable when
 *   `appendChange` resolves;
 * - one writer per cluster at a time, through `lock`.
 */
import type { ExecutorOwner, Plan, PlanChange } from '../plan/types.js';

/** Cluster status as the store records it. */
export type ClusterStatus = 'active' | 'updating';

/** Cluster record (`cluster.json`). */
export interface ClusterRecord {
  name: string;
  status: ClusterStatus;
  /** Installed image name and version. */
  image: { name: string; version: string };
  activeOperation?: string;
  lastOperation?: string;
  updated: string;
}

export type OperationState = 'in_progress' | 'completed' | 'failed';

/** Operation record (`operation.json`). */
export interface OperationRecord {
  id: string;
  type: 'upgrade';
  cluster: string;
  state: OperationState;
  from: string;
  to: string;
  /** Image name being upgraded. */
  image: string;
  /** Where the target image was read from (absolute path), so later commands can open it again. */
  source?: string;
  mode: 'manual' | 'automatic';
  created: string;
  updated: string;
  createdBy: { host: string; pid: number; user: string };
  /** Why the operation ended the way it did ("rolled back", "completed manually", ...). */
  reason?: string;
}

/** Change as given to `appendChange`; the store assigns `seq`. */
export type NewPlanChange = Omit<PlanChange, 'seq'>;

/** Owner of the cluster lock. */
export interface LockOwner {
  host: string;
  pid: number;
  /** What the owner is doing, for the "lock held" message. */
  command: string;
}

/** Lock file content. */
export interface LockRecord extends LockOwner {
  acquired: string;
  heartbeat: string;
}

/** A held cluster lock. Heartbeats run until `release`. */
export interface ClusterLock {
  readonly owner: LockRecord;
  release(): Promise<void>;
}

/** Storage for one state directory. */
export interface Store {
  getCluster(cluster: string): Promise<ClusterRecord | undefined>;
  putCluster(record: ClusterRecord): Promise<void>;

  /** Creates operation + plan atomically; fails if the id exists. */
  createOperation(op: OperationRecord, plan: Plan): Promise<void>;
  getOperation(cluster: string, id: string): Promise<OperationRecord>;
  updateOperation(op: OperationRecord): Promise<void>;
  /** Newest first. */
  listOperations(cluster: string): Promise<OperationRecord[]>;

  getPlan(cluster: string, operationId: string): Promise<Plan>;
  appendChange(cluster: string, operationId: string, change: NewPlanChange): Promise<PlanChange>;
  /** All changes in `seq` order; a torn last line is ignored. */
  readChanges(cluster: string, operationId: string): Promise<PlanChange[]>;

  /** Takes the cluster lock or throws StateError naming the holder; a stale holder is taken over. */
  lock(cluster: string, owner: LockOwner): Promise<ClusterLock>;
  /** Current lock holder, if any, with whether it looks alive. */
  readLock(cluster: string): Promise<{ record: LockRecord; stale: boolean } | undefined>;

  /** Path of the operation's debug log (ndjson). */
  logPath(cluster: string, operationId: string): string;
}

/** Tells whether an in-progress owner is still at work, given the current lock. */
export function ownerAlive(owner: ExecutorOwner | undefined, lock: { record: LockRecord; stale: boolean } | undefined): boolean {
  if (!owner || !lock || lock.stale) return false;
  return lock.record.host === owner.host && lock.record.pid === owner.pid;
}
