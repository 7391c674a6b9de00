/**
 * In-memory Store for hermetic engine tests. Behaviour note: it keeps the Store invariants that
 * the engine relies on (seq strictly increasing, operation+plan created together, one lease
 * holder, fenced writes by epoch, compare-and-set records) and nothing else: no files, no
 * staleness (a held lease is live until released or taken over with `takeOver`).
 */
import { StateError } from '../../src/errors.js';
import type { Plan, PlanChange } from '../../src/plan/types.js';
import type {
  ClusterRecord,
  HistoryEvent,
  Lease,
  LeaseOwner,
  LeaseRecord,
  LeaseRequest,
  NewPlanChange,
  OperationRecord,
  RecordWrite,
  Store,
} from '../../src/store/store.js';

/** A lease of the memory store; `lose` simulates a takeover noticed by a heartbeat. */
export class MemoryLease implements Lease {
  private readonly controller = new AbortController();
  constructor(
    readonly owner: LeaseRecord,
    private readonly onRelease: () => void,
  ) {}
  get epoch() {
    return this.owner.epoch;
  }
  get signal() {
    return this.controller.signal;
  }
  assertHeld() {
    if (this.signal.aborted) throw this.signal.reason;
  }
  lose(by = 'someone else') {
    if (!this.signal.aborted)
      this.controller.abort(new StateError('ERR_LOCK_LOST', `lost the lease (epoch ${this.epoch}): taken over by ${by}`));
  }
  async release() {
    if (!this.signal.aborted) this.onRelease();
  }
}

export class MemoryStore implements Store {
  clusters = new Map<string, ClusterRecord>();
  operations = new Map<string, OperationRecord>();
  plans = new Map<string, Plan>();
  changes = new Map<string, PlanChange[]>();
  locks = new Map<string, LeaseRecord>();
  epochs = new Map<string, number>();
  held = new Map<string, MemoryLease>();
  history = new Map<string, HistoryEvent[]>();

  async appendHistory(cluster: string, event: HistoryEvent) {
    this.history.set(cluster, [...(this.history.get(cluster) ?? []), structuredClone(event)]);
  }
  async readHistory(cluster: string) {
    return structuredClone(this.history.get(cluster) ?? []);
  }

  async getCluster(cluster: string) {
    const c = this.clusters.get(cluster);
    return c ? structuredClone(c) : undefined;
  }
  async putCluster(record: ClusterRecord, write: RecordWrite<ClusterRecord>) {
    this.fence(record.name, write.lease);
    this.compare(this.clusters.get(record.name), write.expect);
    this.clusters.set(record.name, structuredClone(record));
  }
  async createOperation(op: OperationRecord, plan: Plan, lease: Lease) {
    this.fence(op.cluster, lease);
    if (this.operations.has(op.id)) throw new StateError('ERR_OPERATION_EXISTS', `operation ${op.id} exists`);
    this.operations.set(op.id, structuredClone(op));
    this.plans.set(op.id, structuredClone(plan));
    this.changes.set(op.id, []);
  }
  async getOperation(_cluster: string, id: string) {
    const op = this.operations.get(id);
    if (!op) throw new StateError('ERR_OPERATION_NOT_FOUND', `operation ${id} not found`);
    return structuredClone(op);
  }
  async updateOperation(op: OperationRecord, write: RecordWrite<OperationRecord>) {
    this.fence(op.cluster, write.lease);
    this.compare(this.operations.get(op.id), write.expect);
    this.operations.set(op.id, structuredClone(op));
  }
  async listOperations(cluster: string) {
    return [...this.operations.values()].filter((o) => o.cluster === cluster).reverse();
  }
  async listClusters() {
    return [...new Set([...this.clusters.keys(), ...[...this.operations.values()].map((o) => o.cluster)])].sort();
  }
  async getPlan(_cluster: string, id: string) {
    const plan = this.plans.get(id);
    if (!plan) throw new StateError('ERR_OPERATION_NOT_FOUND', `plan ${id} not found`);
    return structuredClone(plan);
  }
  async appendChange(cluster: string, id: string, change: NewPlanChange, lease: Lease) {
    this.fence(cluster, lease);
    const list = this.changes.get(id);
    if (!list) throw new StateError('ERR_OPERATION_NOT_FOUND', `operation ${id} not found`);
    const full: PlanChange = { ...structuredClone(change), seq: (list.at(-1)?.seq ?? 0) + 1 };
    list.push(full);
    return full;
  }
  async readChanges(_cluster: string, id: string) {
    return structuredClone(this.changes.get(id) ?? []);
  }
  async lock(cluster: string, owner: LeaseOwner, request: LeaseRequest = {}): Promise<Lease> {
    const current = this.held.get(cluster);
    if (current && !request.takeOver) throw new StateError('ERR_LOCK_HELD', `cluster "${cluster}" is locked`);
    current?.lose(owner.command);
    const now = new Date().toISOString();
    const epoch = (this.epochs.get(cluster) ?? 0) + 1;
    this.epochs.set(cluster, epoch);
    const record: LeaseRecord = { ...owner, epoch, acquired: now, heartbeat: now, expires: now };
    this.locks.set(cluster, record);
    const lease = new MemoryLease(record, () => {
      this.locks.delete(cluster);
      this.held.delete(cluster);
    });
    this.held.set(cluster, lease);
    return lease;
  }
  /** The held lease of `cluster`, taken for the test if nobody holds it. */
  async testLease(cluster: string): Promise<Lease> {
    return this.held.get(cluster) ?? this.lock(cluster, { host: 'h', pid: process.pid, command: 'test' });
  }
  async readLock(cluster: string) {
    const record = this.locks.get(cluster);
    return record ? { record, stale: false } : undefined;
  }
  async readLease(cluster: string) {
    return this.locks.get(cluster);
  }
  private fence(cluster: string, lease: Lease) {
    lease.assertHeld();
    if (this.held.get(cluster)?.epoch !== lease.epoch)
      throw new StateError('ERR_LOCK_LOST', `lease epoch ${lease.epoch} of "${cluster}" is not current`);
  }
  private compare<T>(current: T | undefined, expect: T | null) {
    if (JSON.stringify(current ?? null) !== JSON.stringify(expect))
      throw new StateError('ERR_STORE_CONFLICT', 'record changed since it was read');
  }
  logPath(cluster: string, id: string) {
    return `/dev/null/${cluster}/${id}`;
  }
}
