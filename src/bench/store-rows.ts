/**
 * JSON store against etcd store, side by side: a 3-member etcd on 127.0.4.201-203 (above the bench sandbox's nodes) (its own data dirs,
 * fsync on), started and stopped here. Append latency, creating a 1,000-node operation, reading
 * and resolving 100,000 changes, and how long a takeover waits after the lease holder dies.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { leaves } from '../plan/query.js';
import { resolvePlan } from '../plan/resolve.js';
import type { Plan, PlanChange } from '../plan/types.js';
import { type StoreEtcdMember, startStoreEtcd, stopStoreEtcd } from '../sandbox/store-etcd.js';
import { EtcdStore } from '../store/etcd-store.js';
import { JsonStore } from '../store/json-store.js';
import type { OperationRecord, Store } from '../store/store.js';
import { median, type Row, timed } from './measure.js';

const MEMBERS: StoreEtcdMember[] = [1, 2, 3].map((i) => ({ name: `bench-${i}`, address: `127.0.4.${200 + i}` }));
const TTL_MS = 5_000;
const APPENDS = 1_000;

type Closable = Store & { close(): Promise<void> };
type PlanOf = (count: number, cluster: string) => Plan;
type OpFor = (plan: Plan) => OperationRecord;

const owner = (command: string) => ({ host: 'bench', pid: process.pid, command });

/** CPU time of this process, ms. */
function cpuMs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

/** CPU time the etcd members have used so far, ms (0 for the JSON store: it has no server). */
type ServerCpu = () => number;

/** Median wall time of one append, and the mean CPU time of one (this process, the etcd members). */
interface AppendCost {
  wallMs: number;
  cpuMs: number;
  serverCpuMs: number;
}

async function appendCost(store: Closable, planOf: PlanOf, opFor: OpFor, serverCpu: ServerCpu): Promise<AppendCost> {
  const plan = planOf(3, 'append');
  const lease = await store.lock('append', owner('bench'));
  await store.createOperation(opFor(plan), plan, lease);
  const ids = leaves(plan.phases).map((p) => p.id);
  const samples: number[] = [];
  const cpu0 = cpuMs();
  const server0 = serverCpu();
  for (let i = 0; i < APPENDS; i++) {
    const change = { phase: ids[i % ids.length]!, state: 'completed' as const, at: new Date().toISOString() };
    samples.push((await timed(() => store.appendChange('append', plan.operationId, change, lease)))[1]);
  }
  const cost = { cpuMs: (cpuMs() - cpu0) / APPENDS, serverCpuMs: (serverCpu() - server0) / APPENDS };
  await lease.release();
  return { wallMs: samples.sort((a, b) => a - b)[samples.length >> 1]!, ...cost };
}

async function createMedian(store: Closable, planOf: PlanOf, opFor: OpFor): Promise<number> {
  return median(3, async (i) => {
    const plan = planOf(1_000, `create-${i}`);
    const lease = await store.lock(plan.cluster, owner('bench'));
    const [, ms] = await timed(() => store.createOperation(opFor(plan), plan, lease));
    await lease.release();
    return ms;
  });
}

/** The etcd members' CPU time so far, ms, from /proc (pids from their pid files). */
function membersCpu(etcdDir: string): ServerCpu {
  const tick = 1000 / 100; // USER_HZ is 100 on Linux
  return () =>
    MEMBERS.reduce((sum, m) => {
      try {
        const pid = readFileSync(join(etcdDir, `${m.name}.pid`), 'utf8').trim();
        const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
        return sum + (Number(fields[11]) + Number(fields[12])) * tick;
      } catch {
        return sum;
      }
    }, 0);
}

/** Writes `changes` as the backend stores them, in bulk: what is measured is reading and resolving. */
type Seed = (plan: Plan, changes: PlanChange[]) => Promise<void>;

/** Median wall and CPU time (this process) of reading and resolving 100,000 changes with a fresh store. */
async function resolveCost(
  store: Closable,
  open: () => Closable,
  seed: Seed,
  planOf: PlanOf,
  opFor: OpFor,
): Promise<{ wallMs: number; cpuMs: number }> {
  const plan = planOf(1_000, 'resolve');
  const lease = await store.lock('resolve', owner('bench'));
  await store.createOperation(opFor(plan), plan, lease);
  await lease.release();
  const ids = leaves(plan.phases).map((p) => p.id);
  const changes: PlanChange[] = Array.from({ length: 100_000 }, (_, i) => ({
    seq: i + 1,
    phase: ids[i % ids.length]!,
    state: 'completed',
    at: new Date(1_700_000_000_000 + i).toISOString(),
  }));
  await seed(plan, changes);
  const cpu: number[] = [];
  const wallMs = await median(3, async () => {
    const fresh = open();
    const cpu0 = cpuMs();
    const [, ms] = await timed(async () =>
      resolvePlan(await fresh.getPlan('resolve', plan.operationId), await fresh.readChanges('resolve', plan.operationId)),
    );
    cpu.push(cpuMs() - cpu0);
    await fresh.close();
    return ms;
  });
  return { wallMs, cpuMs: cpu.sort((a, b) => a - b)[cpu.length >> 1]! };
}

const seedJson =
  (store: JsonStore): Seed =>
  async (plan, changes) =>
    writeFileSync(
      join(dirname(store.logPath('resolve', plan.operationId)), 'changelog.ndjson'),
      `${changes.map((c) => JSON.stringify(c)).join('\n')}\n`,
    );

const seedEtcd =
  (store: EtcdStore): Seed =>
  async (plan, changes) => {
    // Keys as appendChange writes them, 100 per transaction (etcd allows 128 operations in one).
    for (let i = 0; i < changes.length; i += 100) {
      const puts = changes
        .slice(i, i + 100)
        .map((c) =>
          store.client.put(store.key('resolve', 'changes', plan.operationId, String(c.seq).padStart(12, '0'))).value(JSON.stringify(c)),
        );
      await store.client
        .if(store.key('resolve', 'lease'), 'Version', '>', 0)
        .then(...puts)
        .commit();
    }
  };

/** A child process takes the lease and is killed -9; how long until this process gets it. */
async function takeoverMs(kind: 'json' | 'etcd', where: string, open: () => Closable): Promise<number> {
  const storeModule = fileURLToPath(new URL(`../store/${kind === 'json' ? 'json-store' : 'etcd-store'}.js`, import.meta.url));
  const make =
    kind === 'json'
      ? `new m.JsonStore(${JSON.stringify(where)}, { staleAfterMs: ${TTL_MS}, heartbeatMs: 1000, hostname: 'other-host' })`
      : `new m.EtcdStore({ endpoints: ${JSON.stringify(MEMBERS.map((x) => `${x.address}:2379`))} }, ${JSON.stringify(where)}, { staleAfterMs: ${TTL_MS} })`;
  const code = `const m = await import(${JSON.stringify(storeModule)}); const s = ${make}; await s.lock('takeover', { host: 'other-host', pid: process.pid, command: 'doomed' }); console.log('held'); setInterval(() => {}, 1000);`;
  const child = spawn(process.execPath, ['--input-type=module', '-e', code], { stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise<void>((resolve, reject) => {
    child.stdout.on('data', (b: Buffer) => b.toString().includes('held') && resolve());
    child.on('exit', (c) => reject(new Error(`the lease holder exited (${c}) before holding the lease`)));
  });
  child.kill('SIGKILL');
  const t0 = performance.now();
  const store = open();
  try {
    for (;;) {
      try {
        const lease = await store.lock('takeover', owner('bench takeover'));
        const ms = performance.now() - t0;
        await lease.release();
        return ms;
      } catch (err) {
        if ((err as { code?: string }).code !== 'ERR_LOCK_HELD') throw err;
        await new Promise((r) => setTimeout(r, 50));
      }
    }
  } finally {
    await store.close();
  }
}

/** The JSON-vs-etcd rows. */
export async function storeRows(planOf: PlanOf, opFor: OpFor): Promise<Row[]> {
  const dir = mkdtempSync(join(tmpdir(), 'hoist-bench-stores-'));
  const etcdDir = join(dir, 'etcd');
  const endpoints = MEMBERS.map((m) => `${m.address}:2379`);
  const openJson = () => new JsonStore(join(dir, 'json'), { staleAfterMs: TTL_MS, heartbeatMs: 1_000 });
  const openEtcd = () => new EtcdStore({ endpoints }, dir, { staleAfterMs: TTL_MS });
  try {
    await startStoreEtcd(etcdDir, MEMBERS);
    const json = openJson();
    const etcd = openEtcd();
    try {
      const etcdCpu = membersCpu(etcdDir);
      const jsonAppend = await appendCost(json, planOf, opFor, () => 0);
      const etcdAppend = await appendCost(etcd, planOf, opFor, etcdCpu);
      const jsonCreate = await createMedian(json, planOf, opFor);
      const etcdCreate = await createMedian(etcd, planOf, opFor);
      const jsonResolve = await resolveCost(json, openJson, seedJson(json), planOf, opFor);
      const etcdResolve = await resolveCost(etcd, openEtcd, seedEtcd(etcd), planOf, opFor);
      const jsonTakeover = await takeoverMs('json', join(dir, 'json'), openJson);
      const etcdTakeover = await takeoverMs('etcd', dir, openEtcd);
      return [
        { what: 'JSON store: append one change, median of 1,000', measured: jsonAppend.wallMs, unit: 'ms' },
        { what: 'etcd store (3 members): append one change, median of 1,000', measured: etcdAppend.wallMs, unit: 'ms', target: 5 },
        // CPU time does not wait on a busy disk or on other processes sharing the cores.
        { what: 'JSON store: append one change, CPU time (this process)', measured: jsonAppend.cpuMs, unit: 'ms' },
        { what: 'etcd store: append one change, CPU time (this process)', measured: etcdAppend.cpuMs, unit: 'ms' },
        { what: 'etcd store: append one change, CPU time (3 etcd members)', measured: etcdAppend.serverCpuMs, unit: 'ms' },
        { what: 'JSON store: create a 1,000-node operation', measured: jsonCreate, unit: 'ms' },
        { what: 'etcd store: create a 1,000-node operation', measured: etcdCreate, unit: 'ms', target: 2 * jsonCreate },
        { what: 'JSON store: read + resolve 100,000 changes', measured: jsonResolve.wallMs, unit: 'ms' },
        { what: 'etcd store: read + resolve 100,000 changes', measured: etcdResolve.wallMs, unit: 'ms', target: 3_000 },
        { what: 'JSON store: read + resolve 100,000 changes, CPU time', measured: jsonResolve.cpuMs, unit: 'ms' },
        { what: 'etcd store: read + resolve 100,000 changes, CPU time (this process)', measured: etcdResolve.cpuMs, unit: 'ms' },
        {
          what: `JSON store: lease takeover after the holder dies (TTL ${TTL_MS / 1000} s, other host)`,
          measured: jsonTakeover,
          unit: 'ms',
          target: TTL_MS + 1_000,
        },
        {
          what: `etcd store: lease takeover after the holder dies (TTL ${TTL_MS / 1000} s)`,
          measured: etcdTakeover,
          unit: 'ms',
          target: TTL_MS + 1_000,
        },
      ];
    } finally {
      await json.close();
      await etcd.close();
    }
  } finally {
    await stopStoreEtcd(etcdDir, MEMBERS);
    rmSync(dir, { recursive: true, force: true });
  }
}
