/**
 * Helpers of the cluster integration tests: a sandbox of real sshd nodes driven through the built
 * `bin/hoist`, exactly as a user would, with every process it leads to recorded so that the test
 * can prove nothing is left running once it has torn the sandbox down.
 */
import { spawn } from 'node:child_process';
import { promises as fs } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { expect } from 'vitest';
import type { SandboxNodeRecord, SandboxRecord } from '../../../src/sandbox/index.js';
import { commandLine, isAlive, signalProcess, waitForExit } from '../../../src/sandbox/processes.js';
import { stopSshd } from '../../../src/sandbox/sshd.js';
import { processes, sandboxSshds } from '../ssh/helpers.js';

/** The repository root: where `bin/hoist` and `dist/` are. */
export const REPO = fileURLToPath(new URL('../../../', import.meta.url));
const HOIST = path.join(REPO, 'bin', 'hoist');

/** What one `hoist` run printed and how it exited. */
export interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** A running sandbox, its state dir, and the pids it has led to so far. */
export class TestCluster {
  readonly stateDir: string;
  readonly sandboxDir: string;
  readonly clusterFile: string;
  record!: SandboxRecord;
  /** Every agent and sshd pid seen, so afterAll can prove each one is gone. */
  readonly pids = new Set<number>();
  /** sshd processes the test started by hand (a restarted node); stopped in teardown. */
  private readonly extraSshd: { pid: number; node: SandboxNodeRecord }[] = [];

  constructor(readonly root: string) {
    this.stateDir = path.join(root, 'state');
    this.sandboxDir = path.join(this.stateDir, 'sandbox');
    this.clusterFile = path.join(this.sandboxDir, 'cluster.yaml');
  }

  /** Runs `bin/hoist args` in the repository with this cluster's state dir. */
  async hoist(args: string[]): Promise<Run> {
    const r = await execa(process.execPath, [HOIST, ...args], {
      cwd: REPO,
      env: { HOIST_STATE_DIR: this.stateDir, NO_COLOR: '1' },
      reject: false,
      stdin: 'ignore',
      // A bound that catches a hang, generous for a loaded 2-core CI machine.
      timeout: 300_000,
    });
    return { code: r.exitCode ?? -1, stdout: String(r.stdout), stderr: String(r.stderr) };
  }

  /** `hoist -c <cluster.yaml> args`. */
  async cli(...args: string[]): Promise<Run> {
    const r = await this.hoist(['-c', this.clusterFile, ...args]);
    await this.trackAgents();
    return r;
  }

  node(name: string): SandboxNodeRecord {
    const node = this.record.nodes.find((n) => n.name === name);
    if (!node) throw new Error(`no node ${name} in the sandbox`);
    return node;
  }

  /** The pid recorded in the node's agent pid file, if any. */
  async agentPid(name: string): Promise<number | undefined> {
    const text = await fs.readFile(path.join(this.node(name).nodeStateDir, 'agent', 'agent.pid'), 'utf8').catch(() => '');
    const pid = Number.parseInt(text.trim(), 10);
    return Number.isInteger(pid) && pid > 1 ? pid : undefined;
  }

  /** True when `pid` is a live agent of this sandbox (never a stranger that reused the pid). */
  async isAgent(pid: number): Promise<boolean> {
    if (!(await isAlive(pid))) return false;
    const cmd = (await commandLine(pid)) ?? '';
    return cmd.includes(`${this.sandboxDir}/`) && cmd.includes('hoist-agent');
  }

  /** Records the agents' current pids. */
  async trackAgents(): Promise<void> {
    if (!this.record) return;
    for (const n of this.record.nodes) {
      const pid = await this.agentPid(n.name);
      if (pid !== undefined && (await this.isAgent(pid))) this.pids.add(pid);
    }
  }

  /** Starts the node's sshd again the way the sandbox does (foreground, detached), after a test stopped it. */
  async restartSshd(name: string): Promise<number> {
    const node = this.node(name);
    const child = spawn(this.record.sshdBinary, ['-D', '-f', node.sshd.config, '-E', node.sshd.logFile], {
      detached: true,
      stdio: 'ignore',
    });
    child.unref();
    const pid = child.pid!;
    this.pids.add(pid);
    this.extraSshd.push({ pid, node });
    for (let i = 0; i < 200 && !(await accepts(node.address, node.port)); i++) await new Promise((r) => setTimeout(r, 50));
    return pid;
  }

  /** Agents shut down, sandbox down, anything recorded still alive killed; returns the pids that survived. */
  async teardown(): Promise<number[]> {
    if (this.record) {
      await this.cli('agent', 'shutdown');
      for (const pid of this.pids) if (await this.isAgent(pid)) signalProcess(pid, 'SIGKILL');
      for (const { pid, node } of this.extraSshd) await stopSshd(pid, node);
      await this.hoist(['sandbox', 'down']);
    }
    const pids = [...this.pids];
    await waitForExit(pids, 10_000);
    const survivors: number[] = [];
    for (const pid of pids) if (await isAlive(pid)) survivors.push(pid);
    // Leftovers under our own root only, whatever recorded them: sshd sessions and agents.
    for (const p of await processes()) if (p.cmdline.includes(`${this.root}/`) && !survivors.includes(p.pid)) survivors.push(p.pid);
    await fs.rm(this.root, { recursive: true, force: true });
    return survivors;
  }
}

/**
 * Brings up a 3-master sandbox on `firstAddress` through the CLI (with `upArgs` added to
 * `sandbox up`) and, unless told not to, deploys the agents.
 */
export async function startCluster(firstAddress: string, opts: { deploy?: boolean; upArgs?: string[] } = {}): Promise<TestCluster> {
  const cluster = new TestCluster(await fs.mkdtemp(path.join(os.tmpdir(), 'hoist-cluster-')));
  const up = await cluster.hoist(['sandbox', 'up', '--first-address', firstAddress, ...(opts.upArgs ?? [])]);
  if (up.code !== 0) throw new Error(`hoist sandbox up failed (${up.code}): ${up.stderr}`);
  cluster.record = JSON.parse(await fs.readFile(path.join(cluster.sandboxDir, 'sandbox.json'), 'utf8')) as SandboxRecord;
  for (const n of cluster.record.nodes) cluster.pids.add(n.sshd.pid);
  if (opts.deploy !== false) {
    const deploy = await cluster.cli('agent', 'deploy');
    if (deploy.code !== 0) throw new Error(`hoist agent deploy failed (${deploy.code}): ${deploy.stderr}`);
  }
  return cluster;
}

/** The plan as `hoist plan -o json` shows it: phase id → state. */
export async function phaseStates(cluster: TestCluster): Promise<Map<string, string>> {
  const r = await cluster.cli('plan', '-o', 'json');
  if (r.code !== 0) throw new Error(`hoist plan failed (${r.code}): ${r.stderr}`);
  const states = new Map<string, string>();
  const walk = (phases: { id: string; state: string; phases?: unknown[] }[]): void => {
    for (const p of phases) {
      states.set(p.id, p.state);
      walk((p.phases ?? []) as typeof phases);
    }
  };
  walk((JSON.parse(r.stdout) as { phases: { id: string; state: string }[] }).phases);
  return states;
}

/** A sandbox (agents not yet deployed) with a manual 1.0.0 → 2.0.0 operation created live. */
export async function startClusterWithOperation(firstAddress: string): Promise<{ cluster: TestCluster; op: string }> {
  const cluster = await startCluster(firstAddress, { deploy: false });
  const r = await cluster.cli('upgrade', '--manual', 'fixtures/images/upgrade-demo-2.0.0');
  if (r.code !== 0) throw new Error(`upgrade failed (${r.code}): ${r.stderr}`);
  return { cluster, op: await operationId(cluster) };
}

/** Tears the cluster down and checks that none of its processes, sshd included, is left. */
export async function expectCleanTeardown(cluster: TestCluster): Promise<void> {
  const root = cluster.root;
  expect(await cluster.teardown()).toEqual([]);
  expect(await sandboxSshds(root)).toEqual([]);
}

/** The id of the cluster's active operation. */
export async function operationId(cluster: TestCluster): Promise<string> {
  const r = await cluster.cli('plan', '-o', 'json');
  return (JSON.parse(r.stdout) as { operation: { id: string } }).operation.id;
}

/** Waits until `pid` is gone (SIGKILL of a process we do not parent). */
export async function gone(pid: number): Promise<boolean> {
  return waitForExit([pid], 10_000);
}

/** Files under a node's state dir, for side-effect assertions. */
export function nodeFile(cluster: TestCluster, node: string, ...parts: string[]): string {
  return path.join(cluster.node(node).nodeStateDir, ...parts);
}

/** True when `file` exists. */
export async function exists(file: string): Promise<boolean> {
  return fs.stat(file).then(
    () => true,
    () => false,
  );
}

function accepts(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}
