/**
 * Helpers of the node-side integration tests: a 3-master sandbox brought up and driven through the
 * built `bin/hoist` as a user would, and the ways to look at what phases did on the nodes — their
 * state dirs, the runtime's /health endpoint, etcd through `etcdctl`. Every process the sandbox
 * leads to (sshd, runtime service, etcd, agent, Kubernetes emulator) is recorded while the test
 * runs, so teardown can prove that none is left once `hoist sandbox down` has run.
 */
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { expect } from 'vitest';
import { parse as parseYaml } from 'yaml';
import type { SandboxNodeRecord, SandboxRecord } from '../../../src/sandbox/index.js';
import { commandLine, sshdDescendants } from '../../../src/sandbox/processes.js';
import { readTrimmed, toPid } from './files.js';
import { ProcessTracker, pidsNaming } from './process-tracker.js';

export { exists, flipByte } from './files.js';

/** The repository root: where `bin/hoist`, `dist/` and `fixtures/` are. */
export const REPO = fileURLToPath(new URL('../../../', import.meta.url));
const HOIST = path.join(REPO, 'bin', 'hoist');

/** Per-test timeout of tests that drive phases over SSH. */
export const PHASE_TIMEOUT = 180_000;

/** What one `hoist` run printed and how it exited. */
export interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** One entry of a node's `packages/index.json`. */
export interface IndexEntry {
  name: string;
  version: string;
  sha256: string;
  size: number;
  labels: Record<string, string>;
}

/** What the runtime service answers on `/health`. */
export interface Health {
  status: string;
  version: string;
  node: string;
  etcd?: { member: boolean; enabled: boolean; version: string; healthy: boolean };
}

/** A phase as `hoist plan -o json` shows it. */
export interface PlanPhase {
  id: string;
  state: string;
  error: unknown;
  phases: PlanPhase[];
}

/** A sandbox under a private temp root, and every process of it seen so far. */
export class NodeSideSandbox {
  readonly stateDir: string;
  readonly sandboxDir: string;
  readonly clusterFile: string;
  record!: SandboxRecord;
  private readonly tracker = new ProcessTracker();

  private constructor(readonly root: string) {
    this.stateDir = path.join(root, 'state');
    this.sandboxDir = path.join(this.stateDir, 'sandbox');
    this.clusterFile = path.join(this.sandboxDir, 'cluster.yaml');
  }

  /** `hoist sandbox up --first-address <addr> [--image <image>]` in a fresh state dir. */
  static async up(firstAddress: string, image?: string): Promise<NodeSideSandbox> {
    const sandbox = new NodeSideSandbox(await fs.mkdtemp(path.join(os.tmpdir(), 'hoist-node-side-')));
    const r = await sandbox.hoist(['sandbox', 'up', '--first-address', firstAddress, ...(image ? ['--image', image] : [])]);
    if (r.code !== 0) {
      await fs.rm(sandbox.root, { recursive: true, force: true });
      throw new Error(`hoist sandbox up failed (${r.code}): ${r.stderr}`);
    }
    sandbox.record = JSON.parse(await fs.readFile(path.join(sandbox.sandboxDir, 'sandbox.json'), 'utf8')) as SandboxRecord;
    await sandbox.recordProcesses();
    return sandbox;
  }

  /** Runs `bin/hoist args` with this sandbox's state dir (and `env` on top). */
  async hoist(args: string[], env: Record<string, string> = {}): Promise<Run> {
    const r = await execa(process.execPath, [HOIST, ...args], {
      cwd: REPO,
      env: { HOIST_STATE_DIR: this.stateDir, NO_COLOR: '1', ...env },
      reject: false,
      stdin: 'ignore',
      timeout: PHASE_TIMEOUT - 10_000,
    });
    return { code: r.exitCode ?? -1, stdout: String(r.stdout), stderr: String(r.stderr) };
  }

  /** `hoist -c <cluster.yaml> args`; records the processes the command led to. */
  async cli(...args: string[]): Promise<Run> {
    const r = await this.hoist(['-c', this.clusterFile, ...args]);
    await this.recordProcesses();
    return r;
  }

  /** Like cli() but throws with hoist's stderr unless it exits 0. */
  async ok(...args: string[]): Promise<string> {
    const r = await this.cli(...args);
    if (r.code !== 0) throw new Error(`hoist ${args.join(' ')} exited ${r.code}:\n${r.stderr}`);
    return r.stdout;
  }

  /** `plan execute --phase <id>` of each phase in turn, stopping at the first failure. */
  async execute(...phases: string[]): Promise<void> {
    for (const phase of phases) await this.ok('plan', 'execute', '--phase', phase);
  }

  node(name: string): SandboxNodeRecord {
    const node = this.record.nodes.find((n) => n.name === name);
    if (!node) throw new Error(`no node ${name} in the sandbox`);
    return node;
  }

  get nodes(): SandboxNodeRecord[] {
    return this.record.nodes;
  }

  /** A path under a node's state dir. */
  nodePath(name: string, ...parts: string[]): string {
    return path.join(this.node(name).nodeStateDir, ...parts);
  }

  /** The node's package index. */
  async packageIndex(name: string): Promise<IndexEntry[]> {
    const text = await fs.readFile(this.nodePath(name, 'packages', 'index.json'), 'utf8');
    return (JSON.parse(text) as { packages: IndexEntry[] }).packages;
  }

  /** The node's index entry of `pkg:version`, if any. */
  async packageEntry(name: string, pkg: string, version: string): Promise<IndexEntry | undefined> {
    return (await this.packageIndex(name)).find((p) => p.name === pkg && p.version === version);
  }

  /** Versions of `pkg` that carry `installed: installed` on the node. */
  async installedVersions(name: string, pkg: string): Promise<string[]> {
    return (await this.packageIndex(name)).filter((p) => p.name === pkg && p.labels.installed === 'installed').map((p) => p.version);
  }

  /** The runtime version the node records as running (`runtime/current`). */
  async currentRuntime(name: string): Promise<string | undefined> {
    return readTrimmed(this.nodePath(name, 'runtime', 'current'));
  }

  /** The node's `etcd/state.json`. */
  async etcdState(name: string): Promise<{ version: string; previousVersion: string | null; enabled: boolean }> {
    return JSON.parse(await fs.readFile(this.nodePath(name, 'etcd', 'state.json'), 'utf8')) as {
      version: string;
      previousVersion: string | null;
      enabled: boolean;
    };
  }

  /** `metadata.version` of the node's installed-image record (`installed/app.yaml`). */
  async installedImageVersion(name: string): Promise<string> {
    const doc = parseYaml(await fs.readFile(this.nodePath(name, 'installed', 'app.yaml'), 'utf8')) as { metadata: { version: string } };
    return doc.metadata.version;
  }

  /** The runtime's answer on `http://<address>:7575/health`. */
  async health(name: string): Promise<Health> {
    const res = await fetch(`http://${this.node(name).address}:7575/health`, { signal: AbortSignal.timeout(5_000) });
    return (await res.json()) as Health;
  }

  /** etcdctl against the client URL of node `name` (ETCDCTL_API=3); throws on failure. */
  async etcdctl(name: string, ...args: string[]): Promise<string> {
    const r = await execa(
      'etcdctl',
      [`--endpoints=http://${this.node(name).address}:2379`, '--dial-timeout=3s', '--command-timeout=10s', ...args],
      {
        env: { ETCDCTL_API: '3' },
        reject: false,
        stdin: 'ignore',
      },
    );
    if (r.exitCode !== 0) throw new Error(`etcdctl ${args.join(' ')} on ${name} failed: ${String(r.stderr)}`);
    return String(r.stdout);
  }

  /** Names of the etcd members that have started (an unstarted member has no name yet), as `name` sees them. */
  async startedMembers(name: string): Promise<string[]> {
    const out = await this.etcdctl(name, 'member', 'list');
    return out
      .split('\n')
      .map((line) => line.split(',').map((s) => s.trim()))
      .filter((f) => f[1] === 'started' && f[2])
      .map((f) => f[2] as string)
      .sort();
  }

  /** The value of `key` read through node `name`; undefined when absent. */
  async etcdGet(name: string, key: string): Promise<string | undefined> {
    const out = await this.etcdctl(name, 'get', key, '--print-value-only');
    return out === '' ? undefined : out.replace(/\n$/, '');
  }

  /** The election flags in etcd, by master address. */
  async electionFlags(via = 'node-1'): Promise<Record<string, string>> {
    const prefix = `/planet/cluster/${this.record.name}/election/`;
    const lines = (await this.etcdctl(via, 'get', '--prefix', prefix)).split('\n').filter((l) => l !== '');
    const flags: Record<string, string> = {};
    for (let i = 0; i + 1 < lines.length; i += 2) flags[(lines[i] as string).slice(prefix.length)] = lines[i + 1] as string;
    return flags;
  }

  /** The plan as `hoist plan -o json` shows it, flattened by phase id. */
  async phases(): Promise<Map<string, PlanPhase>> {
    const plan = JSON.parse(await this.ok('plan', '-o', 'json')) as { phases: PlanPhase[] };
    const byId = new Map<string, PlanPhase>();
    const walk = (list: PlanPhase[]): void => {
      for (const p of list) {
        byId.set(p.id, p);
        walk(p.phases ?? []);
      }
    };
    walk(plan.phases);
    return byId;
  }

  /** The id of the active operation. */
  async operationId(): Promise<string> {
    return (JSON.parse(await this.ok('plan', '-o', 'json')) as { operation: { id: string } }).operation.id;
  }

  /** Records the live processes recorded under the sandbox dir (pid files, sandbox.json) and any naming it. */
  async recordProcesses(): Promise<void> {
    if (!this.record) return;
    const record = JSON.parse(await fs.readFile(path.join(this.sandboxDir, 'sandbox.json'), 'utf8').catch(() => '{}')) as {
      kube?: { pid?: number };
    };
    const candidates: (number | undefined)[] = [record.kube?.pid];
    for (const n of this.record.nodes) {
      candidates.push(n.sshd.pid);
      for (const file of [
        ['runtime', 'service.pid'],
        ['runtime', 'etcd.pid'],
        ['agent', 'agent.pid'],
      ])
        candidates.push(toPid(await readTrimmed(path.join(n.nodeStateDir, ...file))));
    }
    // A pid file may name a process that is gone and whose pid was reused: only ours count.
    for (const pid of candidates)
      if (pid !== undefined && ((await commandLine(pid)) ?? '').includes(`${this.sandboxDir}/`)) await this.tracker.remember(pid);
    for (const pid of await pidsNaming(`${this.sandboxDir}/`)) await this.tracker.remember(pid);
  }

  /** Kinds of process seen (sshd, etcd, service, agent, kube). */
  get kinds(): ReadonlySet<string> {
    return this.tracker.kinds;
  }

  /**
   * `hoist sandbox down`, then returns every recorded process still alive (zombies count as gone)
   * with any process naming the test root. Survivors are killed afterwards so that a failing test
   * leaves nothing running.
   */
  async teardown(): Promise<{ down: Run | undefined; survivors: string[] }> {
    let down: Run | undefined;
    if (this.record) {
      await this.recordProcesses();
      for (const n of this.record.nodes) for (const pid of await sshdDescendants(n.sshd.pid)) await this.tracker.remember(pid);
      down = await this.hoist(['sandbox', 'down']);
    }
    const survivors = await this.tracker.survivors(`${this.root}/`);
    for (const pid of survivors.keys()) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // Already gone.
      }
    }
    await fs.rm(this.root, { recursive: true, force: true });
    return { down, survivors: [...survivors].map(([pid, cmd]) => `${pid} ${cmd}`) };
  }
}

/**
 * Tears the sandbox down and checks that it went: `sandbox down` succeeded, every process seen
 * (of every kind the sandbox runs) is gone.
 */
export async function tearDownAndCheck(
  sb: NodeSideSandbox | undefined,
  kinds = ['agent', 'etcd', 'kube', 'service', 'sshd'],
): Promise<void> {
  if (!sb) return;
  const { down, survivors } = await sb.teardown();
  expect(down?.code, down?.stderr).toBe(0);
  expect(survivors).toEqual([]);
  expect([...sb.kinds].sort()).toEqual(kinds);
}

/** Path of a fixture. */
export function fixture(...parts: string[]): string {
  return path.join(REPO, 'fixtures', ...parts);
}
