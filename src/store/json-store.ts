/**
 * The embedded default Store: JSON files under a state directory (architecture §5).
 *
 *   <state>/clusters/<name>/cluster.json
 *   <state>/clusters/<name>/lock
 *   <state>/clusters/<name>/operations/<id>/{operation.json,plan.json,changelog.ndjson,log.ndjson}
 *
 * Record files are replaced atomically (files.ts). An operation directory is built under a
 * dot-name and renamed into place, so an operation exists with its plan or not at all; readers
 * skip dot-names, which also hides what a crash mid-create leaves behind. plan.json is written
 * once, there is no API to rewrite it. Changelog rules live in changelog.ts.
 *
 * Every write is fenced by the cluster lease (lock.ts): it runs under the lock file's guard
 * after checking that the lease's epoch is still the stored one. Record writes are also
 * compare-and-set against the record the caller read (canonical JSON equality).
 */
import { randomBytes } from 'node:crypto';
import { type Dirent, promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { z } from 'zod';
import { corruptFile, fsyncDir, isErrno, readRecord, recordJson, writeFileAtomic, writeNewFile } from '../durable-files.js';
import { StateError } from '../errors.js';
import type { Plan, PlanChange } from '../plan/types.js';
import { ChangelogAppender, type Fence, readChangelog } from './changelog.js';
import { appendHistoryLine, readHistoryFile } from './history.js';
import { explainLockHeld } from './holder-activity.js';
import { acquireLock, fencedWrite, type LeaseTiming, pidAlive, readLeaseRecord, readLockFile } from './lock.js';
import { checkPlanDataToWrite, checkStoredPlanData, checkStoredPlanTree } from './plan-data.js';
import { checkRecord, checkUnchanged, cmp, isSafeName, operationExists, operationNotFound, phaseIds, safeName } from './record-checks.js';
import { clusterRecordSchema, operationRecordSchema, planSchema } from './schema.js';
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

/** Tuning for the JSON store; defaults suit production. */
export interface JsonStoreOptions {
  /** Lease TTL: a lease not renewed for this long expires and may be taken over (default 30 s). */
  staleAfterMs?: number;
  /** How often a held lease renews itself (default 5 s). */
  heartbeatMs?: number;
  /** This host's name, to tell whether a lock holder's pid can be checked here (default os.hostname()). */
  hostname?: string;
}

/** Prefix of an operation directory being created. */
const NEW_OP_PREFIX = '.new-';

/** Store backed by JSON files in one state directory. */
export class JsonStore implements Store {
  private readonly lockOptions: LeaseTiming;
  private readonly appenders = new Map<string, Promise<ChangelogAppender>>();
  /** Phase ids of each operation's plan (by operation dir), to check changelog lines against. */
  private readonly phaseIds = new Map<string, ReadonlySet<string>>();
  /** Fence functions by lease (weakly: a released lease's go with it) and cluster. */
  private readonly fences = new WeakMap<Lease, Map<string, Fence>>();

  constructor(
    readonly stateDir: string,
    options: JsonStoreOptions = {},
  ) {
    this.lockOptions = {
      staleAfterMs: options.staleAfterMs ?? 30_000,
      heartbeatMs: options.heartbeatMs ?? 5_000,
      hostname: options.hostname ?? os.hostname(),
    };
  }

  async getCluster(cluster: string): Promise<ClusterRecord | undefined> {
    return readRecord(path.join(this.clusterDir(cluster), 'cluster.json'), clusterRecordSchema);
  }

  async putCluster(record: ClusterRecord, write: RecordWrite<ClusterRecord>): Promise<void> {
    const dir = this.clusterDir(record.name);
    const file = path.join(dir, 'cluster.json');
    checkRecord(clusterRecordSchema, record, file);
    await fs.mkdir(dir, { recursive: true });
    await this.fenced(record.name, write.lease, async () => {
      checkUnchanged(await this.getCluster(record.name), write.expect, file);
      await writeFileAtomic(file, recordJson(record));
    });
  }

  async createOperation(op: OperationRecord, plan: Plan, lease: Lease): Promise<void> {
    await this.fenced(op.cluster, lease, () => this.createOperationNow(op, plan));
  }

  private async createOperationNow(op: OperationRecord, plan: Plan): Promise<void> {
    const finalDir = this.opDir(op.cluster, op.id);
    checkRecord(operationRecordSchema, op, path.join(finalDir, 'operation.json'));
    checkRecord(planSchema, plan, path.join(finalDir, 'plan.json'));
    checkPlanDataToWrite(plan, path.join(finalDir, 'plan.json'));
    if (plan.operationId !== op.id || plan.cluster !== op.cluster) {
      throw new StateError(
        'ERR_STORE_PLAN_MISMATCH',
        `plan of operation ${plan.operationId} (cluster "${plan.cluster}") does not belong to operation ${op.id} (cluster "${op.cluster}")`,
        {
          hint: 'this is a bug in the caller: build the plan for the operation being created',
        },
      );
    }
    const opsDir = path.dirname(finalDir);
    await fs.mkdir(opsDir, { recursive: true });
    await this.removeAbandonedTemps(opsDir);
    if (await exists(finalDir)) throw operationExists(op, finalDir);
    const tmpDir = path.join(opsDir, `${NEW_OP_PREFIX}${op.id}-${process.pid}-${randomBytes(4).toString('hex')}`);
    try {
      await fs.mkdir(tmpDir);
      await writeNewFile(path.join(tmpDir, 'operation.json'), recordJson(op));
      await writeNewFile(path.join(tmpDir, 'plan.json'), recordJson(plan));
      await writeNewFile(path.join(tmpDir, 'changelog.ndjson'), '');
      await fsyncDir(tmpDir);
      // rename(2) onto an existing non-empty directory fails, so a racing creator loses here.
      await fs.rename(tmpDir, finalDir);
    } catch (err) {
      await fs.rm(tmpDir, { recursive: true, force: true });
      if (isErrno(err, 'ENOTEMPTY') || isErrno(err, 'EEXIST')) throw operationExists(op, finalDir);
      throw err;
    }
    await fsyncDir(opsDir);
  }

  async getOperation(cluster: string, id: string): Promise<OperationRecord> {
    return this.readOpFile(cluster, id, 'operation.json', operationRecordSchema);
  }

  async updateOperation(op: OperationRecord, write: RecordWrite<OperationRecord>): Promise<void> {
    const file = path.join(this.opDir(op.cluster, op.id), 'operation.json');
    checkRecord(operationRecordSchema, op, file);
    await this.fenced(op.cluster, write.lease, async () => {
      // Must exist; reading it also refuses to replace a corrupt one silently.
      checkUnchanged(await this.getOperation(op.cluster, op.id), write.expect, file);
      await writeFileAtomic(file, recordJson(op));
    });
  }

  async listOperations(cluster: string): Promise<OperationRecord[]> {
    const opsDir = path.join(this.clusterDir(cluster), 'operations');
    let entries: Dirent[];
    try {
      entries = await fs.readdir(opsDir, { withFileTypes: true });
    } catch (err) {
      if (isErrno(err, 'ENOENT')) return [];
      throw err;
    }
    // Dot-names are creations in flight or left by a crash; they are not operations yet.
    const ids = entries.filter((e) => e.isDirectory() && !e.name.startsWith('.')).map((e) => e.name);
    const ops = await Promise.all(ids.map((id) => this.getOperation(cluster, id)));
    return ops.sort((a, b) => cmp(b.created, a.created) || cmp(b.id, a.id));
  }

  async listClusters(): Promise<string[]> {
    let entries: Dirent[];
    try {
      entries = await fs.readdir(path.join(this.stateDir, 'clusters'), { withFileTypes: true });
    } catch (err) {
      if (isErrno(err, 'ENOENT')) return [];
      throw err;
    }
    return entries
      .filter((e) => e.isDirectory() && isSafeName(e.name))
      .map((e) => e.name)
      .sort(cmp);
  }

  async getPlan(cluster: string, operationId: string): Promise<Plan> {
    const plan = await this.readOpFile(cluster, operationId, 'plan.json', planSchema);
    const file = path.join(this.opDir(cluster, operationId), 'plan.json');
    checkStoredPlanData(plan, file);
    checkStoredPlanTree(plan, file);
    this.phaseIds.set(path.dirname(file), phaseIds(plan));
    return plan;
  }

  async appendChange(cluster: string, operationId: string, change: NewPlanChange, lease: Lease): Promise<PlanChange> {
    const appender = await this.appender(cluster, operationId);
    // The appender serializes this process's appends; the fence is checked inside that turn, so
    // the guard is held across one write + fdatasync only.
    return appender.append(change, this.fenceOf(cluster, lease));
  }

  /** One fence function per cluster and lease, so that the appender can group their appends. */
  private fenceOf(cluster: string, lease: Lease): Fence {
    const byCluster = this.fences.get(lease) ?? new Map<string, Fence>();
    this.fences.set(lease, byCluster);
    const fence: Fence = byCluster.get(cluster) ?? ((write) => this.fenced(cluster, lease, write));
    byCluster.set(cluster, fence);
    return fence;
  }

  async readChanges(cluster: string, operationId: string): Promise<PlanChange[]> {
    const dir = this.opDir(cluster, operationId);
    if (!(await exists(dir))) throw operationNotFound(cluster, operationId, dir);
    // plan.json never changes, so its phase ids are read once per operation.
    if (!this.phaseIds.has(dir)) await this.getPlan(cluster, operationId);
    const known = this.phaseIds.get(dir);
    return readChangelog(path.join(dir, 'changelog.ndjson'), known);
  }

  async lock(cluster: string, owner: LeaseOwner, request?: LeaseRequest): Promise<Lease> {
    return acquireLock(this.lockPath(cluster), cluster, owner, this.lockOptions, request).catch((err) =>
      explainLockHeld(this, cluster, err),
    );
  }

  async readLock(cluster: string): Promise<LeaseState | undefined> {
    return readLockFile(this.lockPath(cluster), this.lockOptions);
  }

  async readLease(cluster: string): Promise<LeaseRecord | undefined> {
    return readLeaseRecord(this.lockPath(cluster));
  }

  logPath(cluster: string, operationId: string): string {
    return path.join(this.opDir(cluster, operationId), 'log.ndjson');
  }

  /** Path of the cluster's lock file. */
  lockPath(cluster: string): string {
    return path.join(this.clusterDir(cluster), 'lock');
  }

  async appendHistory(cluster: string, event: HistoryEvent): Promise<void> {
    const dir = this.clusterDir(cluster);
    await fs.mkdir(dir, { recursive: true, mode: 0o700 });
    await appendHistoryLine(path.join(dir, 'history.ndjson'), event);
  }

  async readHistory(cluster: string): Promise<HistoryEvent[]> {
    return readHistoryFile(path.join(this.clusterDir(cluster), 'history.ndjson'));
  }

  /** Closes the changelog files kept open for appending. */
  async close(): Promise<void> {
    const pending = [...this.appenders.values()];
    this.appenders.clear();
    await Promise.all(pending.map(async (p) => (await p.catch(() => undefined))?.close()));
  }

  private fenced<T>(cluster: string, lease: Lease, fn: () => Promise<T>): Promise<T> {
    return fencedWrite(this.lockPath(cluster), cluster, lease, this.lockOptions, fn);
  }

  private clusterDir(cluster: string): string {
    return path.join(this.stateDir, 'clusters', safeName(cluster, 'cluster name'));
  }

  private opDir(cluster: string, id: string): string {
    return path.join(this.clusterDir(cluster), 'operations', safeName(id, 'operation id'));
  }

  /** One open appender per operation, shared by concurrent callers. */
  private appender(cluster: string, id: string): Promise<ChangelogAppender> {
    const dir = this.opDir(cluster, id);
    let pending = this.appenders.get(dir);
    if (!pending) {
      pending = (async () => {
        if (!(await exists(dir))) throw operationNotFound(cluster, id, dir);
        return ChangelogAppender.open(path.join(dir, 'changelog.ndjson'));
      })();
      this.appenders.set(dir, pending);
      pending.catch(() => this.appenders.delete(dir));
    }
    return pending;
  }

  private async readOpFile<T>(cluster: string, id: string, name: string, schema: z.ZodType<T>): Promise<T> {
    const dir = this.opDir(cluster, id);
    const file = path.join(dir, name);
    const value = await readRecord(file, schema);
    if (value !== undefined) return value;
    if (!(await exists(dir))) throw operationNotFound(cluster, id, dir);
    throw corruptFile(file, 'is missing from its operation directory');
  }

  /** Removes temp operation dirs whose creating process is gone (crash mid-create). */
  private async removeAbandonedTemps(opsDir: string): Promise<void> {
    for (const name of await fs.readdir(opsDir)) {
      if (!name.startsWith(NEW_OP_PREFIX)) continue;
      const pid = Number(/-(\d+)-[0-9a-f]+$/.exec(name)?.[1]);
      if (Number.isInteger(pid) && pid > 0 && !pidAlive(pid)) {
        await fs.rm(path.join(opsDir, name), { recursive: true, force: true });
      }
    }
  }
}

async function exists(p: string): Promise<boolean> {
  try {
    await fs.stat(p);
    return true;
  } catch (err) {
    if (isErrno(err, 'ENOENT')) return false;
    throw err;
  }
}
