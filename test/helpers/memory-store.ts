/**
 * In-memory Store for hermetic engine tests. Behaviour note: it keeps the Store invariants that
 * the engine relies on (seq strictly increasing, operation+plan created together, one lock
 * holder) and nothing else: no files, no staleness (a held lock is always live).
 */
import { StateError } from '../../src/errors.js';
import type { Plan, PlanChange } from '../../src/plan/types.js';
import type { ClusterLock, ClusterRecord, LockOwner, LockRecord, NewPlanChange, OperationRecord, Store } from '../../src/store/store.js';

export class MemoryStore implements Store {
  clusters = new Map<string, ClusterRecord>();
  operations = new Map<string, OperationRecord>();
  plans = new Map<string, Plan>();
  changes = new Map<string, PlanChange[]>();
  locks = new Map<string, LockRecord>();

  async getCluster(cluster: string) {
    const c = this.clusters.get(cluster);
    return c ? structuredClone(c) : undefined;
  }
  async putCluster(record: ClusterRecord) {
    this.clusters.set(record.name, structuredClone(record));
  }
  async createOperation(op: OperationRecord, plan: Plan) {
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
  async updateOperation(op: OperationRecord) {
    this.operations.set(op.id, structuredClone(op));
  }
  async listOperations(cluster: string) {
    return [...this.operations.values()].filter((o) => o.cluster === cluster).reverse();
  }
  async getPlan(_cluster: string, id: string) {
    const plan = this.plans.get(id);
    if (!plan) throw new StateError('ERR_OPERATION_NOT_FOUND', `plan ${id} not found`);
    return structuredClone(plan);
  }
  async appendChange(_cluster: string, id: string, change: NewPlanChange) {
    const list = this.changes.get(id);
    if (!list) throw new StateError('ERR_OPERATION_NOT_FOUND', `operation ${id} not found`);
    const full: PlanChange = { ...structuredClone(change), seq: (list.at(-1)?.seq ?? 0) + 1 };
    list.push(full);
    return full;
  }
  async readChanges(_cluster: string, id: string) {
    return structuredClone(this.changes.get(id) ?? []);
  }
  async lock(cluster: string, owner: LockOwner): Promise<ClusterLock> {
    if (this.locks.has(cluster)) throw new StateError('ERR_LOCK_HELD', `cluster "${cluster}" is locked`);
    const now = new Date().toISOString();
    const record: LockRecord = { ...owner, acquired: now, heartbeat: now };
    this.locks.set(cluster, record);
    return { owner: record, release: async () => void this.locks.delete(cluster) };
  }
  async readLock(cluster: string) {
    const record = this.locks.get(cluster);
    return record ? { record, stale: false } : undefined;
  }
  logPath(cluster: string, id: string) {
    return `/dev/null/${cluster}/${id}`;
  }
}
