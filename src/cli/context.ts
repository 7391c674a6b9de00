/**
 * Per-command context: resolves the global options into a store, a cluster, an operation and a
 * logger, and offers the one way commands take the cluster lock.
 */
import { homedir, hostname, userInfo } from 'node:os';
import { join, resolve } from 'node:path';
import type { Logger } from 'pino';
import { ClusterAgents } from '../cluster/agents.js';
import { isLocalAddress, type NodeSettings, nodesOf, sshNodesOf, sshSettingsOf } from '../cluster/inventory.js';
import { type LoadedClusterState, type LoadedInventory, loadClusterState, loadInventory } from '../config/load.js';
import { InputError, InterruptedError, StateError, UsageError } from '../errors.js';
import type { ProgressSink } from '../fsm/progress.js';
import type { EventSink } from '../fsm/run-events.js';
import { Events } from '../log/events.js';
import { createLogger } from '../log/logger.js';
import type { OperationEnv } from '../operation/env.js';
import { resolveOperationId } from '../operation/find.js';
import { recordHistory } from '../operation/history.js';
import { operationNotActive } from '../operation/locked.js';
import { readCluster } from '../operation/reconcile.js';
import { resolvePlan } from '../plan/resolve.js';
import type { Plan, PlanChange, PlanView } from '../plan/types.js';
import { SshPool } from '../ssh/pool.js';
import type { EtcdStoreConfig, EtcdStoreOptions } from '../store/etcd-client.js';
import { EtcdStore } from '../store/etcd-store.js';
import { JsonStore } from '../store/json-store.js';
import { describeTakeover } from '../store/lock.js';
import { etcdStoreChoice, SelectedStore } from '../store/selected-store.js';
import { checkStateDir } from '../store/state-dir.js';
import { type Lease, type LeaseRequest, type LeaseTakeover, type OperationRecord, ownerAlive } from '../store/store.js';
import { hoistVersion } from '../version.js';
import { parseDuration } from './commands/shared.js';
import type { CliIO, Globals } from './io.js';

/** What a command works with; also what the workflows of src/operation run with. */
export class Context implements OperationEnv {
  private storeInstance?: SelectedStore;
  private stateCache?: Promise<LoadedClusterState>;
  private inventoryCache?: Promise<LoadedInventory>;
  private live?: { nodes: NodeSettings[]; pool: SshPool; agents: ClusterAgents };
  logger: Logger;
  /** The operation's debug log, once the command knows its operation. */
  opLog?: string;
  readonly progress: ProgressSink;

  constructor(
    readonly io: CliIO,
    readonly globals: Globals,
    readonly command: string,
  ) {
    this.logger = this.makeLogger();
    this.progress = { line: (text) => io.stderr.write(`${text}\n`) };
  }

  get json(): boolean {
    return this.globals.output === 'json';
  }

  get signal(): AbortSignal {
    return this.io.signal;
  }

  /** --state plans offline: nothing touches a node. */
  get offline(): boolean {
    return !!this.globals.state;
  }

  get kubeProxy(): boolean {
    return this.io.env.HOIST_KUBE_PROXY !== 'off';
  }

  get drainTimeoutMs(): number | undefined {
    return this.globals.drainTimeout ? parseDuration('--drain-timeout', this.globals.drainTimeout) : undefined;
  }

  /**
   * Per-node lines: the result of `agent deploy|shutdown` (stdout, for humans; a JSON result is one
   * document written at the end), progress of every other command (stderr), such as the agents an
   * upgrade deploys before its plan.
   */
  nodeResult(text: string): void {
    if (!/^hoist agent (deploy|shutdown)\b/.test(this.command)) this.progress.line(text);
    else if (!this.json) this.out(`${text}\n`);
  }

  /** The run's events stream (--events, -o ndjson), once a command opened one. */
  events?: EventSink;
  /** Events go to stdout: it holds them only, results are in the last event. */
  eventsOnStdout = false;

  /** Writes a result to stdout. */
  out(text: string): void {
    if (!this.eventsOnStdout) this.io.stdout.write(text);
  }

  /** True once a result went to stdout (an error then must not add a second JSON document). */
  wroteResult = false;

  /** Writes a JSON result document to stdout. */
  outJson(doc: unknown): void {
    this.wroteResult = true;
    if (!this.eventsOnStdout) this.io.stdout.write(`${JSON.stringify(doc, null, 2)}\n`);
  }

  stateDir(): string {
    if (this.globals.stateDir === '' || this.io.env.HOIST_STATE_DIR === '') {
      throw new UsageError('ERR_USAGE_STATE_DIR', 'the state directory is empty (--state-dir or HOIST_STATE_DIR)', {
        hint: 'pass a directory path, or leave both unset for ~/.local/state/hoist',
      });
    }
    const dir = this.globals.stateDir ?? this.io.env.HOIST_STATE_DIR ?? join(homedir(), '.local', 'state', 'hoist');
    return resolve(this.io.cwd, dir);
  }

  /** The operation store: --store over the inventory's spec.store over the state directory's JSON files. */
  store(): SelectedStore {
    if (!this.storeInstance) {
      const dir = this.stateDir();
      checkStateDir(dir);
      const timing = leaseTimingFromEnv(this.io.env);
      this.storeInstance = new SelectedStore(async () => {
        const etcd = await this.etcdStoreConfig();
        return etcd ? this.openEtcdStore(etcd, dir, timing) : new JsonStore(dir, timing);
      }, dir);
    }
    return this.storeInstance;
  }

  /** An etcd store for this command. */
  openEtcdStore(etcd: EtcdStoreConfig, dir: string, timing: EtcdStoreOptions): EtcdStore {
    // gRPC sends an IP endpoint as the TLS server name, which Node deprecates (DEP0123) in a
    // warning a user can do nothing about; the certificate is still checked against the IP.
    if (etcd.tls && this.io.stderr === process.stderr) process.noDeprecation = true;
    return new EtcdStore(etcd, dir, timing);
  }

  /** The etcd store this command uses, if any (flag first, so a bad flag fails before the inventory loads). */
  async etcdStoreConfig(): Promise<EtcdStoreConfig | undefined> {
    const flag = this.globals.store;
    if (flag !== undefined && flag !== 'json') etcdStoreChoice(flag, undefined);
    if (flag === 'json') return undefined;
    return etcdStoreChoice(flag, (await this.inventory()).config.spec.store);
  }

  /** The offline cluster state (`--state FILE`), loaded once. */
  clusterState(): Promise<LoadedClusterState> | undefined {
    if (!this.globals.state) return undefined;
    if (!this.stateCache) {
      this.stateCache = this.untilInterrupted(loadClusterState(resolve(this.io.cwd, this.globals.state)));
      // Callers may start other work before awaiting it; its error surfaces where it is awaited.
      this.stateCache.catch(() => undefined);
    }
    return this.stateCache;
  }

  /** The inventory: --state's, else -c (default ./cluster.yaml). */
  inventory(): Promise<LoadedInventory> {
    const state = this.clusterState();
    if (state) return state.then((s) => s.inventory);
    if (!this.inventoryCache) {
      this.inventoryCache = this.untilInterrupted(loadInventory(resolve(this.io.cwd, this.globals.cluster ?? 'cluster.yaml')));
      this.inventoryCache.catch(() => undefined);
    }
    return this.inventoryCache;
  }

  /**
   * `work`, cut short by Ctrl-C: input loading has no steps to stop between, so the command stops
   * waiting for it (and, if it finished meanwhile, does not go on with its result).
   */
  untilInterrupted<T>(work: Promise<T>): Promise<T> {
    const signal = this.io.signal;
    if (signal.aborted) return Promise.reject(new InterruptedError());
    return new Promise<T>((resolvePromise, reject) => {
      const onAbort = (): void => reject(new InterruptedError());
      signal.addEventListener('abort', onAbort, { once: true });
      work
        .then(
          (value) => (signal.aborted ? reject(new InterruptedError()) : resolvePromise(value)),
          (err: unknown) => reject(signal.aborted ? new InterruptedError('interrupted', { cause: err }) : err),
        )
        .finally(() => signal.removeEventListener('abort', onAbort));
    });
  }

  /** Cluster name from the inventory. */
  async clusterName(): Promise<string> {
    return (await this.inventory()).config.metadata.name;
  }

  /** Live access to the nodes (SSH pool + agents), opened once per command and closed by main. */
  async connect(): Promise<{ nodes: NodeSettings[]; pool: SshPool; agents: ClusterAgents }> {
    if (this.live) return this.live;
    const { config } = await this.inventory();
    const nodes = nodesOf(config);
    const pool = new SshPool(
      sshNodesOf(nodes),
      sshSettingsOf(config, { acceptNewHostKeys: !!this.globals.acceptNewHostKeys, env: this.io.env }),
      this.logger,
    );
    const agents = new ClusterAgents(nodes, pool, { version: hoistVersion(), isLocal: (n) => isLocalAddress(n.address), log: this.logger });
    this.live = { nodes, pool, agents };
    return this.live;
  }

  private readonly cleanups: (() => Promise<void>)[] = [];

  /** Runs `fn` when the command ends, whatever the outcome (temporary image dirs, …). */
  onClose(fn: () => Promise<void>): void {
    this.cleanups.push(fn);
  }

  /** Releases connections and temporary files of the command. */
  async close(): Promise<void> {
    const live = this.live;
    this.live = undefined;
    await live?.agents.close();
    await this.storeInstance?.close();
    for (const fn of this.cleanups.splice(0)) await fn().catch(() => undefined);
  }

  /**
   * The operation a read-only command shows: --operation-id, else the active (or, if allowed,
   * last) one, by the cluster record as the operations call for it (a crash may have left the
   * stored one behind; the next command holding the lock repairs it).
   */
  async operation(opts: { allowFinished?: boolean } = {}): Promise<OperationRecord> {
    const name = await this.clusterName();
    const store = this.store();
    const given = await this.operationIdArg();
    if (given) {
      const op = await store.getOperation(name, given);
      if (op.state !== 'in_progress' && !opts.allowFinished) throw operationNotActive(name, op);
      return op;
    }
    const cluster = (await readCluster(store, name)).record;
    const id = cluster?.activeOperation ?? (opts.allowFinished ? cluster?.lastOperation : undefined);
    if (!id) throw operationNotActive(name);
    return store.getOperation(name, id);
  }

  /** `--operation-id` as a full id (a unique prefix is completed), if given. */
  async operationIdArg(): Promise<string | undefined> {
    const given = this.globals.operationId;
    return given ? resolveOperationId(this.store(), await this.clusterName(), given) : undefined;
  }

  /** Plan and changes of an operation, and the plan view for display. */
  async planOf(op: OperationRecord): Promise<{ plan: Plan; changes: PlanChange[]; view: PlanView }> {
    const store = this.store();
    const [plan, changes, lock] = await Promise.all([
      store.getPlan(op.cluster, op.id),
      store.readChanges(op.cluster, op.id),
      store.readLock(op.cluster),
    ]);
    return { plan, changes, view: resolvePlan(plan, changes, (owner) => ownerAlive(owner, lock)) };
  }

  private lease?: Lease;

  /** Runs `fn` holding the cluster lease; every store write inside is fenced with it. */
  async withLock<T>(cluster: string, fn: (lease: Lease) => Promise<T>, request?: LeaseRequest): Promise<T> {
    const lease = await this.store().lock(cluster, { host: hostname(), pid: process.pid, command: this.command }, request);
    this.lease = lease;
    const takeover = lease.owner.lastTakeover;
    // Logged once the operation's log file is known (useOperationLog), else right after.
    if (takeover && takeover.by.epoch === lease.epoch) {
      this.pendingTakeover = takeover;
      await recordHistory(this, cluster, { type: 'lease.takeover', message: `lease ${describeTakeover(takeover)}` });
    }
    try {
      return await fn(lease);
    } finally {
      this.logTakeover();
      this.lease = undefined;
      await lease.release();
    }
  }

  private pendingTakeover?: LeaseTakeover;

  private logTakeover(): void {
    const t = this.pendingTakeover;
    this.pendingTakeover = undefined;
    if (t) this.logger.warn({ event: Events.lockTakeover, takeover: t }, `cluster lease ${describeTakeover(t)}`);
  }

  /** The last lease takeover if it happened during `op`, for `plan` and `status`. */
  async takeoverDuring(op: OperationRecord): Promise<LeaseTakeover | undefined> {
    const t = (await this.store().readLease(op.cluster))?.lastTakeover;
    return t && t.at >= op.created ? t : undefined;
  }

  /** The lease taken by the enclosing `withLock`. */
  heldLease(): Lease {
    if (this.lease) return this.lease;
    throw new StateError('ERR_LOCK_NOT_HELD', `"${this.command}" tried to write without holding the cluster lease`, {
      hint: 'this is a bug in hoist: writes happen inside withLock',
    });
  }

  /** Adds the per-operation debug log file to the logger. */
  useOperationLog(op: { cluster: string; id: string }): string {
    const file = this.store().logPath(op.cluster, op.id);
    this.opLog = file;
    this.logger = this.makeLogger(file);
    this.logger.info({ event: 'cli.start', command: this.command }, `Start: ${this.command}`);
    this.logTakeover();
    return file;
  }

  /** Who created an operation. */
  creator(): OperationRecord['createdBy'] {
    let user = 'unknown';
    try {
      user = userInfo().username;
    } catch {
      // No passwd entry (containers); the uid is still in the log.
    }
    return { host: hostname(), pid: process.pid, user };
  }

  private makeLogger(file?: string): Logger {
    return createLogger({ console: this.io.stderr, level: this.globals.debug ? 'debug' : 'warn', json: this.json }, file);
  }
}

/**
 * Lease timing from HOIST_LEASE_TTL_MS (tests shorten it to seconds); heartbeats run six times
 * per TTL so that a few missed beats do not lose the lease.
 */
export function leaseTimingFromEnv(env: NodeJS.ProcessEnv): { staleAfterMs?: number; heartbeatMs?: number } {
  const raw = env.HOIST_LEASE_TTL_MS;
  if (raw === undefined || raw === '') return {};
  const ttl = Number(raw);
  if (!Number.isInteger(ttl) || ttl < 300) {
    throw new InputError('ERR_LEASE_TTL', `HOIST_LEASE_TTL_MS="${raw}" is not a whole number of milliseconds ≥ 300`, {
      hint: 'unset it (default 30000) or give e.g. HOIST_LEASE_TTL_MS=3000',
    });
  }
  return { staleAfterMs: ttl, heartbeatMs: Math.min(5_000, Math.max(50, Math.floor(ttl / 6))) };
}
