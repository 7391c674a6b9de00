/**
 * Helpers of the Kubernetes-side tests: a sandbox brought up and torn down with the real `hoist`
 * command, and the real `kubectl`, `etcdctl` and runtime `/health` to look at what it did.
 */
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { type Proc, processes } from '../ssh/helpers.js';

/** The hoist command a user runs. */
export const HOIST = fileURLToPath(new URL('../../../bin/hoist', import.meta.url));
/** The demo images shipped with the sources. */
export const IMAGE_1 = fileURLToPath(new URL('../../../fixtures/images/upgrade-demo-1.0.0', import.meta.url));
export const IMAGE_2 = fileURLToPath(new URL('../../../fixtures/images/upgrade-demo-2.0.0', import.meta.url));
/** Runtime versions of image 1.0.0 and 2.0.0. */
export const RUNTIME_1 = '7.0.35-11706';
export const RUNTIME_2 = '7.0.56-11709';
/** The taint the taint/untaint phases add and remove. */
export const RUNLEVEL_TAINT = { key: 'hoist/runlevel', value: 'system', effect: 'NoExecute' };

/** What a finished command left. */
export interface Run {
  exitCode: number;
  stdout: string;
  stderr: string;
}

/** A phase of `hoist plan -o json`. */
export interface PlanPhase {
  id: string;
  state: string;
  node: string | null;
  executor: string | null;
  parallel?: number;
  error: { code: string; message: string } | null;
  phases: PlanPhase[];
}

/** `hoist plan -o json`. */
export interface PlanJson {
  operation: { id: string; state: string; mode: string; from: string; to: string; source?: string };
  phases: PlanPhase[];
}

/** A Node object as kubectl returns it (the fields the tests read). */
export interface KubeNode {
  metadata: { name: string; labels?: Record<string, string> };
  spec: { unschedulable?: boolean; taints?: { key: string; value?: string; effect: string }[] };
}

/** A running sandbox and the tools to drive and inspect it. */
export interface Sandbox {
  stateDir: string;
  dir: string;
  clusterFile: string;
  kubeconfig: string;
  nodes: { name: string; address: string; role: 'master' | 'worker' }[];
  /** `hoist -c cluster.yaml ARGS` with HOIST_STATE_DIR set. */
  hoist(args: string[], opts?: { cwd?: string }): Promise<Run>;
  kubectl(args: string[]): Promise<Run>;
  /** `etcdctl` (v3) against every master's client URL. */
  etcdctl(args: string[]): Promise<Run>;
  /** GET http://<address>:7575/health of the node's runtime. */
  health(address: string): Promise<{ status: string; version: string; node: string }>;
  plan(): Promise<PlanJson>;
  kubeNodes(): Promise<KubeNode[]>;
  /** Lines of the active (or given) operation's debug log. */
  operationLog(operationId: string): Promise<{ event?: string; msg?: string; phase?: string }[]>;
  /** `hoist sandbox down`, then every process the sandbox started must be gone. */
  down(): Promise<void>;
}

function asRun(r: { exitCode?: number; stdout?: unknown; stderr?: unknown }): Run {
  return { exitCode: r.exitCode ?? -1, stdout: String(r.stdout ?? ''), stderr: String(r.stderr ?? '') };
}

/** Runs hoist as a user would, in a private state dir. */
export async function hoistIn(stateDir: string, args: string[], cwd = process.cwd()): Promise<Run> {
  return asRun(await execa(HOIST, args, { env: { HOIST_STATE_DIR: stateDir }, cwd, reject: false }));
}

/** Brings up a sandbox in a fresh state dir with `hoist sandbox up`. */
export async function sandboxUp(options: { firstAddress: string; masters?: number; workers?: number; store?: 'etcd' }): Promise<Sandbox> {
  const stateDir = await fs.mkdtemp(path.join(os.tmpdir(), 'hoist-kube-side-'));
  const dir = path.join(stateDir, 'sandbox');
  const args = ['sandbox', 'up', '--first-address', options.firstAddress];
  if (options.masters !== undefined) args.push('--masters', String(options.masters));
  if (options.workers !== undefined) args.push('--workers', String(options.workers));
  if (options.store) args.push('--store', options.store);
  const up = await hoistIn(stateDir, args);
  if (up.exitCode !== 0) {
    await fs.rm(stateDir, { recursive: true, force: true });
    throw new Error(`hoist sandbox up exited ${up.exitCode}:\n${up.stdout}\n${up.stderr}`);
  }
  const record = JSON.parse(await fs.readFile(path.join(dir, 'sandbox.json'), 'utf8')) as { nodes: Sandbox['nodes'] };
  const clusterFile = path.join(dir, 'cluster.yaml');
  const kubeconfig = path.join(dir, 'kube', 'kubeconfig');
  const masters = record.nodes.filter((n) => n.role === 'master');
  const sandbox: Sandbox = {
    stateDir,
    dir,
    clusterFile,
    kubeconfig,
    nodes: record.nodes.map((n) => ({ name: n.name, address: n.address, role: n.role })),
    hoist: (a, o = {}) => hoistIn(stateDir, ['-c', clusterFile, ...a], o.cwd),
    async kubectl(a) {
      return asRun(
        await execa('kubectl', ['--kubeconfig', kubeconfig, '--cache-dir', path.join(stateDir, 'kubectl-cache'), ...a], { reject: false }),
      );
    },
    async etcdctl(a) {
      const endpoints = masters.map((m) => `http://${m.address}:2379`).join(',');
      return asRun(
        await execa('etcdctl', ['--endpoints', endpoints, '--command-timeout=10s', ...a], { env: { ETCDCTL_API: '3' }, reject: false }),
      );
    },
    async health(address) {
      const res = await fetch(`http://${address}:7575/health`);
      return (await res.json()) as { status: string; version: string; node: string };
    },
    async plan() {
      const r = await sandbox.hoist(['plan', '-o', 'json']);
      if (r.exitCode !== 0) throw new Error(`hoist plan -o json exited ${r.exitCode}: ${r.stderr}`);
      return JSON.parse(r.stdout) as PlanJson;
    },
    async kubeNodes() {
      const r = await sandbox.kubectl(['get', 'nodes', '-o', 'json']);
      if (r.exitCode !== 0) throw new Error(`kubectl get nodes exited ${r.exitCode}: ${r.stderr}`);
      return (JSON.parse(r.stdout) as { items: KubeNode[] }).items;
    },
    async operationLog(id) {
      const file = path.join(stateDir, 'clusters', 'upgrade-demo', 'operations', id, 'log.ndjson');
      const text = await fs.readFile(file, 'utf8');
      return text
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as { event?: string; msg?: string; phase?: string });
    },
    async down() {
      const r = await hoistIn(stateDir, ['sandbox', 'down']);
      const left = await settle(() => processesUnder(stateDir));
      await fs.rm(stateDir, { recursive: true, force: true });
      if (r.exitCode !== 0) throw new Error(`hoist sandbox down exited ${r.exitCode}: ${r.stderr}`);
      if (left.length) throw new Error(`processes of the sandbox outlived it:\n${left.map((p) => `${p.pid} ${p.cmdline}`).join('\n')}`);
    },
  };
  return sandbox;
}

/** Polls until `list` comes back empty (bounded); returns the last list. */
async function settle<T>(list: () => Promise<T[]>, attempts = 100): Promise<T[]> {
  let last = await list();
  for (let i = 0; i < attempts && last.length; i++) {
    await new Promise((r) => setTimeout(r, 100));
    last = await list();
  }
  return last;
}

/**
 * Live processes whose command line names `dir` (sshd, etcd, runtime services, agents, the
 * emulator all do), and everything below them (sshd sessions do not name it).
 */
export async function processesUnder(dir: string): Promise<Proc[]> {
  const all = await processes();
  const found = new Map(all.filter((p) => p.cmdline.includes(dir) && p.pid !== process.pid).map((p) => [p.pid, p]));
  let grew = true;
  while (grew) {
    grew = false;
    for (const p of all) {
      if (found.has(p.ppid) && !found.has(p.pid)) {
        found.set(p.pid, p);
        grew = true;
      }
    }
  }
  return [...found.values()];
}

/** Leaves of the plan in plan order (depth first). */
export function leaves(phases: PlanPhase[]): PlanPhase[] {
  return phases.flatMap((p) => (p.phases.length ? leaves(p.phases) : [p]));
}

/** Every phase of the plan, groups included, by id. */
export function phaseMap(phases: PlanPhase[], into = new Map<string, PlanPhase>()): Map<string, PlanPhase> {
  for (const p of phases) {
    into.set(p.id, p);
    phaseMap(p.phases, into);
  }
  return into;
}

/** True when the node carries the runlevel taint. */
export function tainted(node: KubeNode): boolean {
  return (node.spec.taints ?? []).some(
    (t) => t.key === RUNLEVEL_TAINT.key && t.value === RUNLEVEL_TAINT.value && t.effect === RUNLEVEL_TAINT.effect,
  );
}

/** Regex-safe text. */
export function escapeRegex(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** Asserts that a hoist run exited as expected, showing its output otherwise. */
export function expectExit(run: Run, code: number, what: string): void {
  if (run.exitCode !== code)
    throw new Error(`${what}: exit ${run.exitCode}, expected ${code}\nstdout:\n${run.stdout}\nstderr:\n${run.stderr}`);
}
