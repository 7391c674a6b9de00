/**
 * `npm run bench:scale [-- --workers 50 --window 10 --first-address 127.0.160.2]`: a sandbox of
 * 3 masters and N workers, the agents deployed, an automatic upgrade 1.0.0 → 2.0.0 with a window
 * of W workers, all through bin/hoist as an operator types it; then one table. Schedule efficiency
 * comes from the changelog (schedule.ts), so it does not depend on this machine's speed; peak RSS
 * and CPU time are the hoist process's own (rusage-hook.ts). The sandbox is always taken down.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { execa } from 'execa';
import { ExitCode } from '../errors.js';
import { leaves } from '../plan/query.js';
import type { Phase } from '../plan/types.js';
import { JsonStore } from '../store/json-store.js';
import { countKubectl } from './kubectl-count.js';
import { median, type Row, renderRows, timed } from './measure.js';
import { leafRuns, planEfficiency, scheduleEfficiency } from './schedule.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const HOIST = path.join(ROOT, 'bin/hoist');
const HOOK = fileURLToPath(new URL('./rusage-hook.js', import.meta.url));
const TARGET_IMAGE = path.join(ROOT, 'fixtures/images/upgrade-demo-2.0.0');

const { values: args } = parseArgs({
  options: {
    workers: { type: 'string', default: '50' },
    window: { type: 'string', default: '10' },
    'first-address': { type: 'string', default: '127.0.160.2' },
    /** The upgrade without the kubectl proxy (HOIST_KUBE_PROXY=off): every Kubernetes step is a kubectl process. */
    'kubectl-only': { type: 'boolean', default: false },
  },
});
const workers = Number.parseInt(args.workers, 10);
const window = Number.parseInt(args.window, 10);

interface Usage {
  maxRssKb: number;
  userUs: number;
  systemUs: number;
}

/** Runs bin/hoist with the bench's state dir; stderr (progress) is kept for a failure's message. */
async function hoist(stateDir: string, argv: string[], usageFile?: string): Promise<number> {
  const env = {
    HOIST_STATE_DIR: stateDir,
    ...(usageFile ? { HOIST_BENCH_RUSAGE: usageFile } : {}),
    ...(args['kubectl-only'] ? { HOIST_KUBE_PROXY: 'off' } : {}),
  };
  const [, ms] = await timed(() =>
    execa(process.execPath, [...(usageFile ? ['--import', HOOK] : []), HOIST, ...argv], { env, stdin: 'ignore', all: true }),
  );
  return ms;
}

const loads = () =>
  loadavg()
    .map((l) => l.toFixed(2))
    .join(' ');

async function run(): Promise<void> {
  const stateDir = mkdtempSync(path.join(tmpdir(), 'hoist-bench-scale-'));
  const cluster = path.join(stateDir, 'sandbox', 'cluster.yaml');
  const nodes = 3 + workers;
  const loadBefore = loads();
  const via = args['kubectl-only'] ? 'kubectl only (HOIST_KUBE_PROXY=off)' : 'kubectl proxy';
  process.stderr.write(
    `bench:scale: 3 masters + ${workers} workers from ${args['first-address']}, window ${window}, Kubernetes steps via ${via}; load ${loadBefore}\n`,
  );
  try {
    const up = await hoist(stateDir, [
      'sandbox',
      'up',
      '--masters',
      '3',
      '--workers',
      String(workers),
      '--first-address',
      args['first-address'],
    ]);
    process.stderr.write(`sandbox up: ${(up / 1000).toFixed(1)} s\n`);
    const deploy = await hoist(stateDir, ['-c', cluster, 'agent', 'deploy']);
    const redeploy = await hoist(stateDir, ['-c', cluster, 'agent', 'deploy']);
    process.stderr.write(`agent deploy: ${(deploy / 1000).toFixed(1)} s, again ${(redeploy / 1000).toFixed(1)} s\n`);
    const usageFile = path.join(stateDir, 'rusage.json');
    // --force: the health gate's probes (one health hook per node, all at once, 8 s each) time out
    // on a loaded 2-core host running 53 nodes; the upgrade's own health phases still run.
    const upgrade = await hoist(
      stateDir,
      ['-c', cluster, 'upgrade', TARGET_IMAGE, '--max-unavailable-workers', String(window), '--force'],
      usageFile,
    );
    const usage = JSON.parse(readFileSync(usageFile, 'utf8')) as Usage;
    const nodeStart = await median(5, async () => (await timed(() => execa(process.execPath, ['-e', '0'])))[1]);
    const plan = await median(5, () => hoist(stateDir, ['-c', cluster, 'plan']));
    const rows: Row[] = [
      { what: `sandbox up, 3 masters + ${workers} workers`, measured: up / 1000, unit: 's' },
      { what: `agent deploy, ${nodes} nodes (hoist agent deploy)`, measured: deploy / 1000, unit: 's', target: 10 },
      {
        what: `agent deploy again, ${nodes} nodes (this build runs already: agents kept)`,
        measured: redeploy / 1000,
        unit: 's',
        target: 10,
      },
      { what: `upgrade wall time (hoist upgrade --force, window ${window}, agents checked first)`, measured: upgrade / 1000, unit: 's' },
      ...(await scheduleRows(stateDir)),
      ...(await kubectlRows(stateDir, via)),
      { what: 'orchestrator peak RSS (hoist upgrade)', measured: usage.maxRssKb / 1024, unit: 'MB' },
      { what: 'orchestrator CPU time, user + system (hoist upgrade)', measured: (usage.userUs + usage.systemUs) / 1e6, unit: 's' },
      {
        what: `hoist plan over Node.js startup (${nodeStart.toFixed(0)} ms), median of 5`,
        measured: plan - nodeStart,
        unit: 'ms',
        target: 300,
      },
    ];
    process.stdout.write(renderRows(rows));
    process.stdout.write(`load average before: ${loadBefore}; after: ${loads()} (1, 5, 15 min; 2 cores shared)\n`);
  } finally {
    // A sandbox that did not come down keeps its directory: `hoist sandbox down` needs its record.
    const down = await hoist(stateDir, ['sandbox', 'down']).then(
      () => true,
      (err: unknown) => {
        process.stderr.write(`sandbox down failed: ${err instanceof Error ? err.message : String(err)}\n`);
        process.stderr.write(`retry with: HOIST_STATE_DIR=${stateDir} ${HOIST} sandbox down\n`);
        process.exitCode = ExitCode.unexpected;
        return false;
      },
    );
    if (down) rmSync(stateDir, { recursive: true, force: true });
  }
}

/** The workers group's span and efficiency, the whole plan's, and the median of each worker step. */
async function scheduleRows(stateDir: string): Promise<Row[]> {
  const store = new JsonStore(stateDir);
  try {
    const [name] = readdirSync(path.join(stateDir, 'clusters'));
    const [op] = await store.listOperations(name!);
    const plan = await store.getPlan(name!, op!.id);
    const runs = leafRuns(await store.readChanges(name!, op!.id));
    const group = plan.phases.find((p) => p.id === '/workers');
    const rows: Row[] = [];
    if (group) {
      const w = scheduleEfficiency(group, runs);
      const summed = leaves([group]).reduce((s, l) => s + duration(l, runs), 0);
      rows.push(
        { what: `workers group span (${group.phases?.length} workers)`, measured: w.real / 1000, unit: 's' },
        { what: `workers group ideal makespan (same durations, window ${group.parallel})`, measured: w.ideal / 1000, unit: 's' },
        { what: 'summed worker phase time', measured: summed / 1000, unit: 's' },
        { what: 'schedule efficiency, workers group (ideal / real)', measured: w.efficiency, unit: '', target: 0.85, atLeast: true },
      );
      for (const [step, ms] of stepMedians(group, runs)) rows.push({ what: `  median worker ${step}`, measured: ms, unit: 'ms' });
    }
    const whole = planEfficiency(plan, runs);
    rows.push(
      { what: 'plan span (first phase start to last phase end)', measured: whole.real / 1000, unit: 's' },
      { what: 'schedule efficiency, whole plan (ideal / real)', measured: whole.efficiency, unit: '' },
    );
    return rows;
  } finally {
    await store.close();
  }
}

/** kubectl processes the upgrade started on the lead master (where every Kubernetes phase runs). */
async function kubectlRows(stateDir: string, via: string): Promise<Row[]> {
  const record = JSON.parse(readFileSync(path.join(stateDir, 'sandbox', 'sandbox.json'), 'utf8')) as {
    nodes: { name: string; nodeStateDir: string }[];
  };
  const store = new JsonStore(stateDir);
  try {
    const [name] = readdirSync(path.join(stateDir, 'clusters'));
    const [op] = await store.listOperations(name!);
    const plan = await store.getPlan(name!, op!.id);
    const lead = leaves(plan.phases).find((l) => l.executor === 'drain')?.node;
    const node = record.nodes.find((n) => n.name === lead);
    if (!node) return [];
    const c = await countKubectl(node.nodeStateDir);
    return [
      { what: `kubectl spawns on the lead master ${lead} (${via})`, measured: c.runs + c.proxyStarts, unit: '', count: true },
      {
        what: `  kubectl runs (drain, hooks, manifests${args['kubectl-only'] ? ', node patches, endpoints' : ''})`,
        measured: c.runs,
        unit: '',
      },
      { what: '  kubectl proxy starts', measured: c.proxyStarts, unit: '', count: true },
      { what: '  API calls through the kubectl proxy', measured: c.apiCalls, unit: '', count: true },
    ];
  } finally {
    await store.close();
  }
}

function duration(phase: Phase, runs: ReturnType<typeof leafRuns>): number {
  const r = runs.get(phase.id);
  return r ? r.end - r.start : 0;
}

/** Median duration of each worker step (drain, system-upgrade, ...), across the workers. */
function stepMedians(group: Phase, runs: ReturnType<typeof leafRuns>): [string, number][] {
  const byStep = new Map<string, number[]>();
  for (const l of leaves([group])) {
    const step = l.id.slice(l.id.lastIndexOf('/') + 1);
    byStep.set(step, [...(byStep.get(step) ?? []), duration(l, runs)]);
  }
  return [...byStep].map(([step, d]) => [step, d.sort((a, b) => a - b)[d.length >> 1]!]);
}

await run().catch((err: unknown) => {
  const all = (err as { all?: string }).all;
  process.stderr.write(
    `bench:scale failed: ${err instanceof Error ? err.message.split('\n')[0] : String(err)}\n${all ? `${all.slice(-4000)}\n` : ''}`,
  );
  process.exitCode = ExitCode.unexpected;
});
