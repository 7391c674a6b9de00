/**
 * Which store a command uses: `--store etcd://…` over the inventory's `spec.store.etcd` over the
 * JSON store of the state directory. The choice needs the inventory, which commands load
 * asynchronously, so the command gets a SelectedStore that opens the chosen backend on first use.
 */
import path from 'node:path';
import { InputError } from '../errors.js';
import type { Plan, PlanChange } from '../plan/types.js';
import { type EtcdStoreConfig, parseStoreUrl } from './etcd-client.js';
import { safeName } from './record-checks.js';
import type {
  ClusterRecord,
  HistoryEvent,
  Lease,
  LeaseOwner,
  LeaseRecord,
  LeaseRequest,
  LeaseState,
  NewPlanChange,
  OperationRecord,
  RecordWrite,
  Store,
} from './store.js';

/** The inventory's `spec.store` (validated by config/schema.ts, which the store does not import). */
export interface StoreSpec {
  etcd: EtcdStoreConfig;
}

/** A store a command can close when it ends. */
export type ClosableStore = Store & { close(): Promise<void> };

/** The etcd store to use, or undefined for the JSON store. */
export function etcdStoreChoice(flag: string | undefined, spec: StoreSpec | undefined): EtcdStoreConfig | undefined {
  if (flag === 'json') return undefined;
  if (flag !== undefined) {
    // A flag without TLS still uses the inventory's TLS and prefix: they describe the same etcd.
    const fromFlag = parseStoreUrl(flag);
    return { ...spec?.etcd, endpoints: fromFlag.endpoints };
  }
  return spec?.etcd;
}

/** Opens the chosen backend on first use and forwards every call to it. */
export class SelectedStore implements Store {
  private opened?: Promise<ClosableStore>;
  private resolved?: ClosableStore;

  constructor(
    private readonly open: () => Promise<ClosableStore>,
    private readonly stateDir: string,
  ) {}

  /** The backend (opened now if it was not yet). */
  backend(): Promise<ClosableStore> {
    if (!this.opened) {
      this.opened = this.open().then((s) => {
        this.resolved = s;
        return s;
      });
    }
    return this.opened;
  }

  async getCluster(cluster: string): Promise<ClusterRecord | undefined> {
    return (await this.backend()).getCluster(cluster);
  }
  async putCluster(record: ClusterRecord, write: RecordWrite<ClusterRecord>): Promise<void> {
    return (await this.backend()).putCluster(record, write);
  }
  async createOperation(op: OperationRecord, plan: Plan, lease: Lease): Promise<void> {
    return (await this.backend()).createOperation(op, plan, lease);
  }
  async getOperation(cluster: string, id: string): Promise<OperationRecord> {
    return (await this.backend()).getOperation(cluster, id);
  }
  async updateOperation(op: OperationRecord, write: RecordWrite<OperationRecord>): Promise<void> {
    return (await this.backend()).updateOperation(op, write);
  }
  async listOperations(cluster: string): Promise<OperationRecord[]> {
    return (await this.backend()).listOperations(cluster);
  }
  async listClusters(): Promise<string[]> {
    return (await this.backend()).listClusters();
  }
  async getPlan(cluster: string, operationId: string): Promise<Plan> {
    return (await this.backend()).getPlan(cluster, operationId);
  }
  async appendChange(cluster: string, operationId: string, change: NewPlanChange, lease: Lease): Promise<PlanChange> {
    return (await this.backend()).appendChange(cluster, operationId, change, lease);
  }
  async readChanges(cluster: string, operationId: string): Promise<PlanChange[]> {
    return (await this.backend()).readChanges(cluster, operationId);
  }
  async lock(cluster: string, owner: LeaseOwner, options?: LeaseRequest): Promise<Lease> {
    return (await this.backend()).lock(cluster, owner, options);
  }
  async readLock(cluster: string): Promise<LeaseState | undefined> {
    return (await this.backend()).readLock(cluster);
  }
  async readLease(cluster: string): Promise<LeaseRecord | undefined> {
    return (await this.backend()).readLease(cluster);
  }
  async appendHistory(cluster: string, event: HistoryEvent): Promise<void> {
    return (await this.backend()).appendHistory(cluster, event);
  }
  async readHistory(cluster: string): Promise<HistoryEvent[]> {
    return (await this.backend()).readHistory(cluster);
  }

  /** Waits for the backend's watch; false at once when the backend cannot watch (the caller polls). */
  async watchForChange(cluster: string, operationId: string, afterSeq: number, timeoutMs: number, signal: AbortSignal): Promise<boolean> {
    const backend = await this.backend();
    if (!backend.waitForChange) return false;
    await backend.waitForChange(cluster, operationId, afterSeq, timeoutMs, signal);
    return true;
  }

  /** Both backends keep the debug log in the state directory, at the same path. */
  logPath(cluster: string, operationId: string): string {
    if (this.resolved) return this.resolved.logPath(cluster, operationId);
    return path.join(
      this.stateDir,
      'clusters',
      safeName(cluster, 'cluster name'),
      'operations',
      safeName(operationId, 'operation id'),
      'log.ndjson',
    );
  }

  async close(): Promise<void> {
    const opened = this.opened;
    this.opened = undefined;
    this.resolved = undefined;
    await (await opened?.catch(() => undefined))?.close();
  }
}

/**
 * Refuses an etcd store served by the cluster being upgraded for a plan with an /etcd block: that
 * block stops the cluster's etcd, so the plan would become unreadable (and unwritable) exactly
 * mid-upgrade. An endpoint counts as the cluster's when its host is one of the nodes' addresses.
 */
export function checkStoreOutsideCluster(store: EtcdStoreConfig | undefined, plan: Plan, nodeAddresses: string[]): void {
  if (!store || !plan.phases.some((p) => p.id === '/etcd')) return;
  const hostOf = (e: string) =>
    e
      .replace(/^https?:\/\//, '')
      .replace(/:\d+$/, '')
      .replace(/^\[(.*)\]$/, '$1');
  const inside = store.endpoints.filter((e) => nodeAddresses.includes(hostOf(e)));
  if (inside.length === 0) return;
  throw new InputError(
    'ERR_STORE_IS_CLUSTER_ETCD',
    `the operation store's etcd endpoint${inside.length > 1 ? 's' : ''} ${inside.join(', ')} run${inside.length > 1 ? '' : 's'} on a node of cluster "${plan.cluster}", whose etcd this upgrade's /etcd phase stops`,
    {
      hint: 'keep operations in an etcd outside the cluster (spec.store.etcd or --store etcd://…), or in the state directory (--store json)',
    },
  );
}
