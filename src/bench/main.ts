/**
 * `npm run bench`: one table of the core's costs on this machine, then of agents and remote phases
 * on a sandbox of real sshd nodes (cluster.ts). Benchmarks, not tests: the targets are printed
 * next to the measurements and never asserted.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { renderPlanTable } from '../cli/render/plan-table.js';
import { ExitCode } from '../errors.js';
import { newOperationRecord } from '../operation/records.js';
import type { ImageFacts, NodeFacts } from '../plan/builder/input.js';
import { buildUpgradePlan } from '../plan/builder/upgrade-plan.js';
import { leaves } from '../plan/query.js';
import { resolvePlan } from '../plan/resolve.js';
import type { Plan, PlanChange } from '../plan/types.js';
import { ChangelogAppender } from '../store/changelog.js';
import { JsonStore } from '../store/json-store.js';
import type { Lease, NewPlanChange, OperationRecord } from '../store/store.js';
import { clusterRows } from './cluster.js';
import { engineRows } from './engine-rows.js';
import { median, type Row, renderRows, timed } from './measure.js';
import { storeRows } from './store-rows.js';

const apps = (v: string) =>
  ['rbac-app', 'dns-app', 'logging-app', 'monitoring-app', 'tiller-app', 'site', 'kubernetes'].map((a) => `${a}:${v}`);
const V1: ImageFacts = {
  name: 'bench',
  version: '1.0.0',
  runtime: 'runtime:7.0.35-11706',
  etcdVersion: '3.4.23',
  systemApps: apps('7.0.12'),
  appDependencies: [],
};
const V2: ImageFacts = { ...V1, version: '2.0.0', runtime: 'runtime:7.0.56-11709', systemApps: apps('7.0.30') };

function nodes(count: number): NodeFacts[] {
  return Array.from({ length: count }, (_, i) => ({
    name: `node-${i + 1}`,
    address: `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`,
    role: i < 3 ? 'master' : 'worker',
  }));
}

function opFor(plan: Plan): OperationRecord {
  return newOperationRecord(plan, { image: 'bench', mode: 'manual', createdBy: { host: 'bench', pid: process.pid, user: 'bench' } });
}

/** A lease for a bench cluster; the bench process holds it until it exits. */
function leaseOf(store: JsonStore, cluster: string): Promise<Lease> {
  return store.lock(cluster, { host: 'bench', pid: process.pid, command: 'bench' });
}

async function planRows(store: JsonStore, count: number, target: number): Promise<Row[]> {
  let display = 0;
  const cpu: number[] = [];
  const build = await median(3, async (i) => {
    const cpu0 = process.cpuUsage();
    const [plan, ms] = await timed(async () => {
      const p = buildUpgradePlan({
        operationId: `op-${count}-${i}`,
        createdAt: new Date().toISOString(),
        cluster: `c${count}-${i}`,
        nodes: nodes(count),
        installed: V1,
        target: V2,
        maxUnavailableWorkers: '10%',
      });
      const lease = await leaseOf(store, p.cluster);
      await store.createOperation(opFor(p), p, lease);
      await lease.release();
      return p;
    });
    const used = process.cpuUsage(cpu0);
    cpu.push((used.user + used.system) / 1000);
    const [, shown] = await timed(() => renderPlanTable(resolvePlan(plan, [])));
    display = i === 0 ? shown : Math.min(display, shown);
    return ms;
  });
  return [
    { what: `build + persist a plan, ${count.toLocaleString('en')} nodes`, measured: build, unit: 'ms', target },
    // CPU time (its file system work included) does not wait on a busy disk or other processes.
    { what: `build + persist a plan, ${count.toLocaleString('en')} nodes, CPU time`, measured: middle(cpu), unit: 'ms' },
    { what: `resolve + display a plan, ${count.toLocaleString('en')} nodes`, measured: display, unit: 'ms', target },
  ];
}

/**
 * A plain append (the changelog file alone) against a fenced one (lease check under the guard,
 * then the same append): the fence must stay within 1 ms of the plain append.
 */
async function appendRows(store: JsonStore, dir: string): Promise<Row[]> {
  const plan = buildUpgradePlan({
    operationId: 'op-append',
    createdAt: new Date().toISOString(),
    cluster: 'append',
    nodes: nodes(3),
    installed: V1,
    target: V2,
  });
  const lease = await leaseOf(store, 'append');
  await store.createOperation(opFor(plan), plan, lease);
  const ids = leaves(plan.phases).map((p) => p.id);
  const change = (i: number): NewPlanChange => ({
    phase: ids[i % ids.length]!,
    state: i % 2 ? 'completed' : 'in_progress',
    at: new Date().toISOString(),
  });
  const plainFile = join(dir, 'plain-changelog.ndjson');
  const plain = await ChangelogAppender.open(plainFile);
  const plainSamples: number[] = [];
  const fencedSamples: number[] = [];
  // Interleaved, so that both see the same disk weather.
  for (let i = 0; i < 10_000; i++) {
    plainSamples.push((await timed(() => plain.append(change(i))))[1]);
    fencedSamples.push((await timed(() => store.appendChange('append', 'op-append', change(i), lease)))[1]);
  }
  await plain.close();
  await lease.release();
  const plainMs = middle(plainSamples);
  const fencedMs = middle(fencedSamples);
  return [
    { what: 'append one changelog entry (fsync), median of 10,000', measured: plainMs, unit: 'ms', target: 1 },
    { what: 'lease check + append (fenced, fsync), median of 10,000', measured: fencedMs, unit: 'ms', target: plainMs + 1 },
  ];
}

function middle(samples: number[]): number {
  return [...samples].sort((a, b) => a - b)[samples.length >> 1]!;
}

async function resolveRow(store: JsonStore, dir: string): Promise<Row> {
  const plan = buildUpgradePlan({
    operationId: 'op-resolve',
    createdAt: new Date().toISOString(),
    cluster: 'resolve',
    nodes: nodes(1_000),
    installed: V1,
    target: V2,
  });
  const lease = await leaseOf(store, 'resolve');
  await store.createOperation(opFor(plan), plan, lease);
  await lease.release();
  const ids = leaves(plan.phases).map((p) => p.id);
  // Written as one file: what is measured is reading and resolving, not 100,000 fsyncs.
  const changes: PlanChange[] = Array.from({ length: 100_000 }, (_, i) => ({
    seq: i + 1,
    phase: ids[i % ids.length]!,
    state: 'completed',
    at: new Date(1_700_000_000_000 + i).toISOString(),
  }));
  writeFileSync(
    join(dirname(store.logPath('resolve', 'op-resolve')), 'changelog.ndjson'),
    `${changes.map((c) => JSON.stringify(c)).join('\n')}\n`,
  );
  const fresh = new JsonStore(dir);
  const ms = await median(
    3,
    async () =>
      (
        await timed(async () => resolvePlan(await fresh.getPlan('resolve', 'op-resolve'), await fresh.readChanges('resolve', 'op-resolve')))
      )[1],
  );
  return { what: 'read + resolve a plan with 100,000 changes', measured: ms, unit: 'ms', target: 1000 };
}

/** An upgrade plan 1.0.0 → 2.0.0 of `count` nodes, with the workers' window when one is given. */
function benchPlan(count: number, cluster: string, window?: number) {
  return buildUpgradePlan({
    operationId: `op-${cluster}`,
    createdAt: new Date().toISOString(),
    cluster,
    nodes: nodes(count),
    installed: V1,
    target: V2,
    ...(window === undefined ? {} : { maxUnavailableWorkers: window }),
  });
}

/** `--only core|engine|store|cluster`: one section of the table, e.g. while tuning it. */
const SECTIONS = ['core', 'engine', 'store', 'cluster'] as const;
type Section = (typeof SECTIONS)[number];

function onlySection(): Section | undefined {
  const at = process.argv.indexOf('--only');
  if (at < 0) return undefined;
  const value = process.argv[at + 1];
  if (!SECTIONS.includes(value as Section)) {
    process.stderr.write(`--only needs one of ${SECTIONS.join(', ')} (got ${value === undefined ? 'nothing' : JSON.stringify(value)})\n`);
    process.exit(ExitCode.usage);
  }
  return value as Section;
}

async function run(): Promise<void> {
  const only = onlySection();
  const wanted = (s: Section) => only === undefined || only === s;
  const dir = mkdtempSync(join(tmpdir(), 'hoist-bench-'));
  const store = new JsonStore(dir);
  try {
    const rows: Row[] = [];
    if (wanted('core')) {
      rows.push(
        ...(await planRows(store, 1_000, 300)),
        ...(await planRows(store, 10_000, 3_000)),
        ...(await appendRows(store, dir)),
        await resolveRow(store, dir),
      );
    }
    if (wanted('engine')) rows.push(...(await engineRows(dir, benchPlan)));
    if (wanted('store')) {
      rows.push(
        ...(await storeRows((count, cluster) => benchPlan(count, cluster), opFor).catch((err: unknown) => {
          process.stderr.write(`the store benchmarks (etcd) could not run: ${err instanceof Error ? err.message : String(err)}\n`);
          process.exitCode = ExitCode.unexpected;
          return [];
        })),
      );
    }
    // Real nodes last: a machine without sshd still gets the core figures, and the failure is said.
    let failure: unknown;
    if (wanted('cluster')) {
      rows.push(
        ...(await clusterRows().catch((err: unknown) => {
          failure = err;
          return [];
        })),
      );
    }
    process.stdout.write(renderRows(rows));
    if (failure !== undefined) {
      process.stderr.write(`the sandbox benchmarks could not run: ${failure instanceof Error ? failure.message : String(failure)}\n`);
      process.exitCode = ExitCode.unexpected;
    }
  } finally {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

await run();
