/**
 * The Store interface: where clusters, operations, plans and changelogs live. The JSON file
 * store is the embedded default; a distributed backend (etcd) can implement the same contract.
 *
 * Invariants every backend keeps:
 * - an operation and its plan are created together or not at all;
 * - a plan is never rewritten after creation;
 * - changelog entries get a strictly increasing `seq` per operation and are durable when
 *   `appendChange` resolves;
 * - one writer per cluster at a time: the holder of the cluster's lease (`lock`).
 *
 * Fencing: every write (`appendChange`, `createOperation`, `updateOperation`, `putCluster`)
 * carries the writer's Lease. The backend checks, atomically with the write (under the JSON
 * store's guard file; in a transaction comparing the lease key for etcd), that the lease's epoch
 * is still the current one and that the lease has not expired; otherwise the write is refused
 * with ERR_LOCK_LOST (exit 4) naming the new owner, and nothing is written. A writer that was
 * paused past its expiry and woke up can therefore never add to the changelog or overwrite a
 * record behind the back of the process that took over.
 *
 * Records are compare-and-set: `updateOperation` and `putCluster` take the record as the caller
 * read it (`expect`, or null for "there was none") and are refused with ERR_STORE_CONFLICT
 * (exit 4) when the stored record differs, so a record read earlier is never written back blindly.
 *
 * Crash-safe records: creating and completing an operation are two writes each, the operation
 * record first and the cluster record second. The operation records are the truth; the cluster
 * record (status, active operation, installed version) follows from them, and a crash between
 * the two writes is repaired by the next command that takes the lease, which derives the
 * cluster record again and writes it (idempotent; src/operation/reconcile.ts). Readers use the
 * derived record meanwhile.
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
  /** The image's digest at creation (Image.digest); a later command refuses another image at `source`. */
  imageDigest?: string;
  mode: 'manual' | 'automatic';
  created: string;
  updated: string;
  createdBy: { host: string; pid: number; user: string };
  /** Why the operation ended the way it did ("rolled back", "completed manually", ...). */
  reason?: string;
  /** Checks overridden when it was created (`upgrade --force` past a degraded node), one line each. */
  warnings?: string[];
}

/** Change as given to `appendChange`; the store assigns `seq`. */
export type NewPlanChange = Omit<PlanChange, 'seq'>;

/** Who holds (or asks for) a cluster lease. */
export interface LeaseOwner {
  host: string;
  pid: number;
  /** What the owner is doing, for the "lock held" message. */
  command: string;
}

/** A holder the lease was taken from (it was stale, or `--force` said it is gone). */
export interface LeaseTakeover extends LeaseOwner {
  /** The epoch it held. */
  epoch: number;
  /** Its last heartbeat. */
  heartbeat: string;
  /** When it was taken over, and by whom. */
  at: string;
  by: LeaseOwner & { epoch: number };
}

/** The stored lease of a cluster (the JSON store's `lock` file). */
export interface LeaseRecord extends LeaseOwner {
  /** Fencing token: grows by one with every acquisition and survives release and restarts. */
  epoch: number;
  acquired: string;
  heartbeat: string;
  /** The lease is void after this instant unless a heartbeat renews it (heartbeat + TTL). */
  expires: string;
  /** Set when the holder released it: the lease is free, the record keeps the epoch. */
  released?: string;
  /** The last takeover on this cluster, carried forward so `plan` and `status` can show it. */
  lastTakeover?: LeaseTakeover;
}

/**
 * A held cluster lease. Heartbeats run until `release`; a heartbeat that finds the lease taken
 * over, or that comes after the lease expired (a paused process), ends it: `signal` aborts with
 * the ERR_LOCK_LOST error as its reason, and every later fenced write is refused.
 */
export interface Lease {
  readonly owner: LeaseRecord;
  /** The fencing token this holder writes with. */
  readonly epoch: number;
  /** Aborted (reason: the ERR_LOCK_LOST StateError) once the lease is lost. */
  readonly signal: AbortSignal;
  /** Throws ERR_LOCK_LOST when the lease is lost or its expiry passed without a heartbeat. */
  assertHeld(): void;
  /** Stops heartbeats and frees the lease (keeping its epoch) if it is still ours. */
  release(): Promise<void>;
}

/** How the holder of a live-looking lease is treated by `lock`. */
export interface LeaseRequest {
  /** Take the lease over even from a holder that looks alive (the operator knows it is gone). */
  takeOver?: boolean;
}

/** A compare-and-set record write: the writer's lease and the record as it read it (null: none). */
export interface RecordWrite<T> {
  lease: Lease;
  expect: T | null;
}

/** What `readLock` tells about a cluster's lease. */
export interface LeaseState {
  record: LeaseRecord;
  /** True when the holder is gone: its pid is dead on this host, or the lease expired. */
  stale: boolean;
}

/** What the status history records (`hoist status history`). */
export type HistoryEventType =
  | 'operation.started'
  | 'operation.completed'
  | 'operation.failed'
  | 'operation.rolled_back'
  | 'phase.failed'
  | 'node.degraded'
  | 'node.healthy'
  | 'lease.takeover'
  | 'override';

/** One entry of a cluster's status history. */
export interface HistoryEvent {
  type: HistoryEventType;
  /** When it happened (or was observed). */
  at: string;
  operation?: string;
  node?: string;
  /** The probe of a health transition (`runtime-health`, `agent`, ...). */
  probe?: string;
  /** The phase of an override. */
  phase?: string;
  /** What was seen or done, in words. */
  message?: string;
  /** Who recorded it. */
  by: { host: string; pid: number; command: string };
}

/** Storage for one state directory. */
export interface Store {
  getCluster(cluster: string): Promise<ClusterRecord | undefined>;
  /** Fenced compare-and-set write of the cluster record. */
  putCluster(record: ClusterRecord, write: RecordWrite<ClusterRecord>): Promise<void>;

  /** Creates operation + plan atomically; fails if the id exists. Fenced. */
  createOperation(op: OperationRecord, plan: Plan, lease: Lease): Promise<void>;
  getOperation(cluster: string, id: string): Promise<OperationRecord>;
  /** Fenced compare-and-set write of an existing operation record. */
  updateOperation(op: OperationRecord, write: RecordWrite<OperationRecord>): Promise<void>;
  /** Newest first. */
  listOperations(cluster: string): Promise<OperationRecord[]>;
  /** The clusters the store holds anything for (records, operations, a lease), sorted by name. */
  listClusters(): Promise<string[]>;

  getPlan(cluster: string, operationId: string): Promise<Plan>;
  /** Fenced append; the store assigns the next seq. */
  appendChange(cluster: string, operationId: string, change: NewPlanChange, lease: Lease): Promise<PlanChange>;
  /** All changes in `seq` order; a torn last line is ignored. */
  readChanges(cluster: string, operationId: string): Promise<PlanChange[]>;

  /**
   * Takes the cluster lease with the next epoch, or throws ERR_LOCK_HELD naming the holder. A
   * stale holder (or, with `takeOver`, any holder) is taken over and the takeover recorded.
   */
  lock(cluster: string, owner: LeaseOwner, options?: LeaseRequest): Promise<Lease>;
  /** Current lease holder, if any (a released lease reads as none), with whether it looks gone. */
  readLock(cluster: string): Promise<LeaseState | undefined>;
  /** The lease record as stored, released or not (for its epoch and last takeover). */
  readLease(cluster: string): Promise<LeaseRecord | undefined>;

  /** Path of the operation's debug log (ndjson). */
  logPath(cluster: string, operationId: string): string;

  /**
   * Resolves once the cluster's keys change (a change past `afterSeq`, a record, the lease), after
   * `timeoutMs`, or on abort; for followers (`plan --tail`). Backends that can watch offer it.
   */
  waitForChange?(cluster: string, operationId: string, afterSeq: number, timeoutMs: number, signal: AbortSignal): Promise<void>;

  /**
   * Appends to the cluster's status history. Not fenced: it records what a command saw or did
   * (a read-only `hoist status` records health transitions too), never state a decision rests on.
   * Durable when it resolves.
   */
  appendHistory(cluster: string, event: HistoryEvent): Promise<void>;
  /** The cluster's status history, oldest first; a torn last entry is ignored. */
  readHistory(cluster: string): Promise<HistoryEvent[]>;
}

/**
 * Tells whether an in-progress owner is still at work, given the current lease: only the live
 * holder of the lease (the same epoch, when the change recorded one) can be.
 */
export function ownerAlive(owner: ExecutorOwner | undefined, lease: LeaseState | undefined): boolean {
  if (!owner || !lease || lease.stale) return false;
  if (owner.epoch !== undefined && owner.epoch !== lease.record.epoch) return false;
  return lease.record.host === owner.host && lease.record.pid === owner.pid;
}
