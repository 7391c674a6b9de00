/**
 * The Store on etcd, for operations that must outlive the operator's machine and be shared by a
 * team. Same contract as the JSON store (store.ts); keys under the prefix (default /hoist/):
 *
 *   clusters/<c>/cluster                    cluster record (JSON)
 *   clusters/<c>/lease, lease-alive         the cluster lease (etcd-lease.ts)
 *   clusters/<c>/operations/<id>            operation record (JSON)
 *   clusters/<c>/plans/<id>/meta            {encoding, chunks, bytes} of the plan
 *   clusters/<c>/plans/<id>/<0000…>         the gzipped plan JSON, in chunks
 *   clusters/<c>/changes/<id>/<seq, 12 digits>   one key per change
 *
 * Every write is one transaction carrying the writer's lease compares (etcd fences it), plus the
 * compare that makes it what it is: a record's mod revision as read (compare-and-set), the
 * operation key's absence (create), or the next seq's absence and its predecessor's presence
 * (append). An operation exists when its record does; the record and the plan's meta are written
 * in the same transaction, after the chunks of a plan too big for one request, so a reader never
 * sees an operation without its whole plan. The debug log stays a local file of the state dir.
 */

import { mkdirSync } from 'node:fs';
import path from 'node:path';
import type { Etcd3 } from 'etcd3';
import type { z } from 'zod';
import { corruptFile, issueLines } from '../durable-files.js';
import { StateError } from '../errors.js';
import type { Plan, PlanChange } from '../plan/types.js';
import { decodeChanges, hasChangeAfter, lastSeq, readChangeKvs, seqName } from './etcd-changes.js';
import { bounded, connect, DEFAULT_CALL_TIMEOUT_MS, type EtcdStoreConfig, type EtcdStoreOptions, keyPrefix } from './etcd-client.js';
import { clusterNames } from './etcd-clusters.js';
import { historyKey, readHistoryKeys } from './etcd-history.js';
import { LeaderRoute } from './etcd-leader.js';
import type { Compare } from './etcd-lease.js';
import { EtcdLeaseManager } from './etcd-lease-manager.js';
import { chunkName, decodePlan, encodePlan, isChunkKey, parseRecord } from './etcd-plan.js';
import { explainLockHeld } from './holder-activity.js';
import { checkPlanDataToWrite } from './plan-data.js';
import { checkRecord, checkUnchanged, cmp, operationExists, operationNotFound, phaseIds, safeName } from './record-checks.js';
import { clusterRecordSchema, operationRecordSchema, planChangeSchema, planSchema } from './schema.js';
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

/** Chunks that fit in one transaction along with the records (etcd's default limit is 1.5 MiB). */
const TXN_BUDGET = 1024 * 1024;

/** Store backed by an etcd cluster. */
export class EtcdStore implements Store {
  readonly client: Etcd3;
  readonly prefix: string;
  private readonly leases: EtcdLeaseManager;
  private readonly timeoutMs: number;
  private readonly chunkBytes: number;
  private readonly txnBytes: number;
  private readonly phaseIdCache = new Map<string, ReadonlySet<string>>();
  private readonly lastSeq = new Map<string, number>();
  private readonly queues = new Map<string, Promise<unknown>>();
  private readonly writes: LeaderRoute;

  constructor(
    readonly config: EtcdStoreConfig,
    /** Where the operations' debug logs go (the local state dir). */
    readonly stateDir: string,
    options: EtcdStoreOptions = {},
  ) {
    this.timeoutMs = options.callTimeoutMs ?? DEFAULT_CALL_TIMEOUT_MS;
    this.chunkBytes = options.chunkBytes ?? 512 * 1024;
    this.txnBytes = options.txnBytes ?? TXN_BUDGET;
    this.client = connect(config, this.timeoutMs);
    this.writes = new LeaderRoute(config, Math.max(1_000, Math.floor(this.timeoutMs / 2)));
    this.prefix = keyPrefix(config);
    this.leases = new EtcdLeaseManager(this, options);
  }

  /** A key of cluster `c`. */
  key(c: string, ...rest: string[]): string {
    return `${this.prefix}clusters/${safeName(c, 'cluster name')}/${rest.join('/')}`;
  }

  /** Runs one store call, bounded, with etcd failures as ERR_STORE_UNAVAILABLE. */
  call<T>(what: string, fn: () => Promise<T>): Promise<T> {
    return bounded(this.config, what, this.timeoutMs, fn);
  }

  getCluster(cluster: string): Promise<ClusterRecord | undefined> {
    return this.call('read cluster', async () => (await this.readJson(this.key(cluster, 'cluster'), clusterRecordSchema))?.value);
  }

  async putCluster(record: ClusterRecord, write: RecordWrite<ClusterRecord>): Promise<void> {
    const key = this.key(record.name, 'cluster');
    checkRecord(clusterRecordSchema, record, this.where(key));
    return this.call('write cluster', () => this.casWrite(record.name, key, clusterRecordSchema, record, write, false));
  }

  async createOperation(op: OperationRecord, plan: Plan, lease: Lease): Promise<void> {
    const opKey = this.key(op.cluster, 'operations', safeName(op.id, 'operation id'));
    checkRecord(operationRecordSchema, op, this.where(opKey));
    checkRecord(planSchema, plan, this.where(this.key(op.cluster, 'plans', op.id)));
    checkPlanDataToWrite(plan, this.where(this.key(op.cluster, 'plans', op.id)));
    if (plan.operationId !== op.id || plan.cluster !== op.cluster) {
      throw new StateError(
        'ERR_STORE_PLAN_MISMATCH',
        `plan of operation ${plan.operationId} (cluster "${plan.cluster}") does not belong to operation ${op.id} (cluster "${op.cluster}")`,
        { hint: 'this is a bug in the caller: build the plan for the operation being created' },
      );
    }
    return this.call('create operation', async () => {
      const fenced = this.leases.fenceOf(op.cluster, lease);
      const { chunks, meta, bytes } = encodePlan(plan, this.chunkBytes);
      const chunkKey = (i: number) => this.key(op.cluster, 'plans', op.id, chunkName(i));
      // etcd also caps operations per transaction (128 by default).
      const inline = bytes <= this.txnBytes && chunks.length <= 100;
      if (!inline) {
        // Too big for one request: chunks first, each fenced and only while the operation does
        // not exist; they are invisible until the record and meta below name them.
        for (const [i, chunk] of chunks.entries()) {
          const ok = await this.txn([...fenced.fence(), [opKey, 'Version', 0]], [this.client.put(chunkKey(i)).value(chunk)]);
          if (!ok) await this.createRefused(op, opKey, fenced);
        }
      }
      const puts = [
        this.client.put(opKey).value(JSON.stringify(op)),
        this.client.put(this.key(op.cluster, 'plans', op.id, 'meta')).value(meta),
        ...(inline ? chunks.map((c, i) => this.client.put(chunkKey(i)).value(c)) : []),
      ];
      if (!(await this.txn([...fenced.fence(), [opKey, 'Version', 0]], puts))) await this.createRefused(op, opKey, fenced);
      this.lastSeq.set(opKey, 0);
    });
  }

  getOperation(cluster: string, id: string): Promise<OperationRecord> {
    return this.call('read operation', () => this.readOperation(cluster, id));
  }

  async updateOperation(op: OperationRecord, write: RecordWrite<OperationRecord>): Promise<void> {
    const key = this.key(op.cluster, 'operations', safeName(op.id, 'operation id'));
    checkRecord(operationRecordSchema, op, this.where(key));
    return this.call('write operation', async () => {
      await this.readOperation(op.cluster, op.id);
      await this.casWrite(op.cluster, key, operationRecordSchema, op, write, true);
    });
  }

  listOperations(cluster: string): Promise<OperationRecord[]> {
    return this.call('list operations', async () => {
      const prefix = this.key(cluster, 'operations/');
      const kvs = (await this.client.getAll().prefix(prefix).exec()).kvs;
      const ops = kvs.map((kv) => parseRecord(kv.value.toString('utf8'), operationRecordSchema, this.where(kv.key.toString())));
      return ops.sort((a, b) => cmp(b.created, a.created) || cmp(b.id, a.id));
    });
  }

  listClusters(): Promise<string[]> {
    return clusterNames(this.client, `${this.prefix}clusters/`, (fn) => this.call('list clusters', fn));
  }

  appendHistory(cluster: string, event: HistoryEvent): Promise<void> {
    const key = historyKey(this.key(cluster, 'history/'), event);
    return this.call('append history', async () => void (await this.client.put(key).value(JSON.stringify(event))));
  }

  readHistory(cluster: string): Promise<HistoryEvent[]> {
    return this.call('read history', () => readHistoryKeys(this.client, this.key(cluster, 'history/')));
  }

  getPlan(cluster: string, operationId: string): Promise<Plan> {
    return this.call('read plan', () => this.readPlan(cluster, operationId));
  }

  appendChange(cluster: string, operationId: string, change: NewPlanChange, lease: Lease): Promise<PlanChange> {
    const opKey = this.key(cluster, 'operations', safeName(operationId, 'operation id'));
    // One append at a time per operation in this process, so that seqs are handed out in order.
    const run = (this.queues.get(opKey) ?? Promise.resolve()).then(() =>
      this.call('append change', () => this.appendNow(cluster, operationId, opKey, change, lease)),
    );
    this.queues.set(
      opKey,
      run.catch(() => undefined),
    );
    return run;
  }

  /** Each request is bounded on its own: 100,000 changes take many pages. */
  async readChanges(cluster: string, operationId: string): Promise<PlanChange[]> {
    const opKey = this.key(cluster, 'operations', safeName(operationId, 'operation id'));
    const prefix = this.key(cluster, 'changes', operationId, '');
    // The plan (for its phase ids, unless already read) and the changes, side by side.
    const known = this.phaseIdCache.has(opKey)
      ? Promise.resolve()
      : this.call('read plan', () => this.readPlan(cluster, operationId)).then(() => undefined);
    known.catch(() => undefined);
    const kvs = await readChangeKvs(this.client, (what, fn) => this.call(what, fn), opKey, prefix);
    if (!kvs) throw operationNotFound(cluster, operationId, this.where(opKey));
    await known;
    return decodeChanges(kvs, this.phaseIdCache.get(opKey));
  }

  lock(cluster: string, owner: LeaseOwner, request?: LeaseRequest): Promise<Lease> {
    return this.call('take the cluster lease', () => this.leases.acquire(cluster, owner, request)).catch((err) =>
      explainLockHeld(this, cluster, err),
    );
  }

  readLock(cluster: string): Promise<LeaseState | undefined> {
    return this.call('read the cluster lease', () => this.leases.readState(cluster));
  }

  readLease(cluster: string): Promise<LeaseRecord | undefined> {
    return this.call('read the cluster lease', async () => (await this.leases.read(cluster)).record);
  }

  async waitForChange(cluster: string, operationId: string, afterSeq: number, timeoutMs: number, signal: AbortSignal): Promise<void> {
    const changes = this.key(cluster, 'changes', safeName(operationId, 'operation id'), '');
    const watcher = await this.call('watch the operation', () => this.client.watch().prefix(this.key(cluster, '')).create());
    let timer: NodeJS.Timeout | undefined;
    try {
      await new Promise<void>((resolve) => {
        timer = setTimeout(resolve, timeoutMs);
        watcher.on('put', () => resolve());
        watcher.on('delete', () => resolve());
        watcher.on('error', () => resolve());
        watcher.on('disconnected', () => resolve());
        signal.addEventListener('abort', () => resolve(), { once: true });
        // A change appended while the watch was being set up has no event of its own.
        hasChangeAfter(this.client, changes, afterSeq).then((newer) => newer && resolve(), resolve);
      });
    } finally {
      clearTimeout(timer);
      await watcher.cancel().catch(() => undefined);
    }
  }

  logPath(cluster: string, operationId: string): string {
    const dir = path.join(
      this.stateDir,
      'clusters',
      safeName(cluster, 'cluster name'),
      'operations',
      safeName(operationId, 'operation id'),
    );
    mkdirSync(dir, { recursive: true });
    return path.join(dir, 'log.ndjson');
  }

  async close(): Promise<void> {
    await Promise.all([...this.queues.values()]);
    this.writes.close();
    this.client.close();
  }

  /** A key as error messages name it. */
  where(key: string): string {
    return `etcd key ${key}`;
  }

  /** Commits `ops` if every compare holds; false when one does not. */
  async txn(compares: Compare[], ops: Parameters<ReturnType<Etcd3['if']>['then']>, client = this.client): Promise<boolean> {
    const [first, ...rest] = compares;
    if (!first) throw new Error('a store transaction needs a compare');
    let b = client.if(first[0], first[1], '==', first[2]);
    for (const c of rest) b = b.and(c[0], c[1], '==', c[2]);
    return (await b.then(...ops).commit()).succeeded;
  }

  /** An append's transaction, through the leader when known (etcd-leader.ts), else the pool. */
  private async appendTxn(compares: Compare[], key: string, value: string): Promise<boolean> {
    const leader = this.writes.client();
    if (leader) {
      try {
        return await this.txn(compares, [leader.put(key).value(value)], leader);
      } catch {
        // No answer from that member: the outcome is unknown, so the pool tries again, and
        // appendNow recognises its own change if the first try was committed after all.
        this.writes.failed();
      }
    }
    return this.txn(compares, [this.client.put(key).value(value)]);
  }

  /** A JSON record with its mod revision, undefined when absent. */
  async readJson<T>(key: string, schema: z.ZodType<T>): Promise<{ value: T; revision: string } | undefined> {
    const kv = (await this.client.get(key).exec()).kvs[0];
    if (!kv) return undefined;
    return { value: parseRecord(kv.value.toString('utf8'), schema, this.where(key)), revision: kv.mod_revision };
  }

  private async casWrite<T>(
    cluster: string,
    key: string,
    schema: z.ZodType,
    record: T,
    write: RecordWrite<T>,
    mustExist: boolean,
  ): Promise<void> {
    const fenced = this.leases.fenceOf(cluster, write.lease);
    const current = (await this.readJson(key, schema)) as { value: T; revision: string } | undefined;
    if (mustExist && !current) throw new StateError('ERR_STORE_CONFLICT', `${this.where(key)} does not exist, but the write expected it`);
    checkUnchanged(current?.value, write.expect, this.where(key));
    const guard: [string, 'Mod' | 'Version', string | number] = current ? [key, 'Mod', current.revision] : [key, 'Version', 0];
    if (await this.txn([...fenced.fence(), guard], [this.client.put(key).value(JSON.stringify(record))])) return;
    await this.leases.explainRefusal(fenced);
    throw new StateError('ERR_STORE_CONFLICT', `${this.where(key)} changed since this command read it`, {
      hint: 're-run the command: it reads the record again and decides on what is stored now',
    });
  }

  private async createRefused(op: OperationRecord, opKey: string, fenced: ReturnType<EtcdLeaseManager['fenceOf']>): Promise<never> {
    if (await this.client.get(opKey).exists()) throw operationExists(op, this.where(opKey));
    await this.leases.explainRefusal(fenced);
    throw new StateError('ERR_STORE_CONFLICT', `creating ${this.where(opKey)} was refused by etcd`, { hint: 're-run the command' });
  }

  private async readOperation(cluster: string, id: string): Promise<OperationRecord> {
    const key = this.key(cluster, 'operations', safeName(id, 'operation id'));
    const rec = await this.readJson(key, operationRecordSchema);
    if (!rec) throw operationNotFound(cluster, id, this.where(key));
    return rec.value;
  }

  private async readPlan(cluster: string, id: string): Promise<Plan> {
    const opKey = this.key(cluster, 'operations', safeName(id, 'operation id'));
    const metaKey = this.key(cluster, 'plans', id, 'meta');
    const [exists, metaText] = await Promise.all([this.client.get(opKey).exists(), this.client.get(metaKey).string()]);
    if (!exists) throw operationNotFound(cluster, id, this.where(opKey));
    if (metaText === null) throw corruptFile(this.where(metaKey), 'is missing for an existing operation');
    const kvs = (
      await this.client
        .getAll()
        .prefix(this.key(cluster, 'plans', id, ''))
        .sort('Key', 'Ascend')
        .exec()
    ).kvs;
    const chunks = kvs.filter((kv) => isChunkKey(kv.key.toString())).map((kv) => kv.value);
    const plan = decodePlan(metaText, chunks, this.where(metaKey), this.where(this.key(cluster, 'plans', id)));
    this.phaseIdCache.set(opKey, phaseIds(plan));
    return plan;
  }

  private async appendNow(cluster: string, id: string, opKey: string, change: NewPlanChange, lease: Lease): Promise<PlanChange> {
    const fenced = this.leases.fenceOf(cluster, lease);
    const seqKey = (seq: number) => this.key(cluster, 'changes', id, seqName(seq));
    for (let attempt = 0; ; attempt++) {
      let last = this.lastSeq.get(opKey);
      if (last === undefined || attempt > 0) {
        if (!(await this.client.get(opKey).exists())) throw operationNotFound(cluster, id, this.where(opKey));
        last = await lastSeq(this.client, this.key(cluster, 'changes', id, ''));
      }
      const { seq: _ignored, ...rest } = change as Partial<PlanChange>;
      const checked = planChangeSchema.safeParse({ seq: last + 1, ...rest });
      if (!checked.success) {
        throw new StateError('ERR_STORE_INVALID_CHANGE', `refusing to append an invalid change to ${this.where(seqKey(last + 1))}`, {
          hint: 'this is a bug in the caller: the change does not match the PlanChange schema',
          details: issueLines(checked.error),
        });
      }
      const entry = checked.data;
      const compares: Compare[] = [...fenced.fence(), [seqKey(entry.seq), 'Version', 0]];
      if (entry.seq > 1) compares.push([seqKey(entry.seq - 1), 'Version', 1]);
      const value = JSON.stringify(entry);
      // Refused, yet the key holds this very change: an earlier try whose answer was lost (a member
      // gone mid-call) was committed, and this one, retried elsewhere, found it done.
      if ((await this.appendTxn(compares, seqKey(entry.seq), value)) || (await this.client.get(seqKey(entry.seq)).string()) === value) {
        this.lastSeq.set(opKey, entry.seq);
        return entry;
      }
      await this.leases.explainRefusal(fenced);
      // Not the fence: this process's view of the last seq was behind (another holder appended).
      if (attempt >= 2)
        throw new StateError('ERR_STORE_CONFLICT', `appending to ${this.where(seqKey(entry.seq))} kept conflicting`, {
          hint: 're-run the command',
        });
    }
  }
}
