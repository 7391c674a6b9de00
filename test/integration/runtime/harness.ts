/**
 * Drives the runtime package's hooks the way the agent does (cwd = the unpacked package, the
 * HOIST_* environment, extra arguments appended) for fake nodes that are just state dirs on
 * loopback addresses. Every service and etcd process the hooks start is tracked by pid so that
 * teardown can stop them all and prove that none is left.
 */
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { parse as parseYaml } from 'yaml';

const repoRoot = path.resolve(import.meta.dirname, '../../..');

/** Source folder of the runtime package `version` as generated under fixtures. */
export function packageSource(version: string): string {
  const byVersion: Record<string, string> = {
    '7.0.35-11706': 'images/upgrade-demo-1.0.0/packages/runtime-7.0.35-11706',
    '7.0.56-11709': 'images/upgrade-demo-2.0.0/packages/runtime-7.0.56-11709',
    '7.0.57-11710': 'images/upgrade-demo-2.1.0/packages/runtime-7.0.57-11710',
    '7.0.99': 'packages/runtime-broken-7.0.99',
  };
  const rel = byVersion[version];
  if (!rel) throw new Error(`no runtime package fixture for ${version}`);
  return path.join(repoRoot, 'fixtures', rel);
}

/** One fake node: a state dir with node.json. */
export interface FakeNode {
  name: string;
  address: string;
  role: 'master' | 'worker';
  stateDir: string;
}

/** What a hook run returned. */
export interface HookRun {
  exitCode: number | undefined;
  stdout: string;
  stderr: string;
  timedOut: boolean;
}

/** A set of fake nodes of one cluster, plus the processes their hooks started. */
export class FakeCluster {
  readonly pids = new Set<number>();

  private constructor(
    readonly root: string,
    readonly nodes: FakeNode[],
  ) {}

  /** Creates state dirs and node.json files for `specs` (masters are those with role master). */
  static async create(cluster: string, specs: Array<Omit<FakeNode, 'stateDir'>>): Promise<FakeCluster> {
    const root = await fs.mkdtemp(path.join(os.tmpdir(), 'hoist-runtime-'));
    const masters = specs.filter((s) => s.role === 'master').map(({ name, address }) => ({ name, address }));
    const nodes: FakeNode[] = [];
    for (const spec of specs) {
      const stateDir = path.join(root, spec.name);
      await fs.mkdir(stateDir, { recursive: true });
      await fs.writeFile(path.join(stateDir, 'node.json'), JSON.stringify({ cluster, ...spec, masters }, null, 2));
      nodes.push({ ...spec, stateDir });
    }
    return new FakeCluster(root, nodes);
  }

  /** The node called `name`. */
  node(name: string): FakeNode {
    const node = this.nodes.find((n) => n.name === name);
    if (!node) throw new Error(`no node ${name}`);
    return node;
  }

  /**
   * Copies the package fixture of `version` to where the agent unpacks it on `node`;
   * `healthTimeoutSeconds` shortens the health hook's timeout in the copy (package.yaml and runtime.json).
   */
  async unpack(node: FakeNode, version: string, options: { healthTimeoutSeconds?: number } = {}): Promise<string> {
    const dir = path.join(node.stateDir, 'packages', 'unpacked', 'runtime', version);
    await fs.rm(dir, { recursive: true, force: true });
    await fs.cp(packageSource(version), dir, { recursive: true });
    const seconds = options.healthTimeoutSeconds;
    if (seconds !== undefined) {
      const yamlFile = path.join(dir, 'package.yaml');
      const yaml = await fs.readFile(yamlFile, 'utf8');
      await fs.writeFile(yamlFile, yaml.replace(/(runtime\.mjs health', timeoutSeconds: )\d+/, `$1${seconds}`));
      const jsonFile = path.join(dir, 'runtime.json');
      const runtime = JSON.parse(await fs.readFile(jsonFile, 'utf8')) as { hookTimeouts: Record<string, number> };
      runtime.hookTimeouts.health = seconds;
      await fs.writeFile(jsonFile, JSON.stringify(runtime));
    }
    return dir;
  }

  /** Runs hook `hook` of the unpacked runtime `version` on `node`, killed after its declared timeout like the agent does. */
  async hook(node: FakeNode, version: string, hook: string, args: string[] = []): Promise<HookRun> {
    const dir = path.join(node.stateDir, 'packages', 'unpacked', 'runtime', version);
    const manifest = parseYaml(await fs.readFile(path.join(dir, 'package.yaml'), 'utf8')) as {
      hooks: Record<string, { run: string; timeoutSeconds: number }>;
    };
    const spec = manifest.hooks[hook];
    if (!spec) throw new Error(`runtime ${version} has no hook ${hook}`);
    const result = await execa('/bin/sh', ['-c', spec.run, hook, ...args], {
      cwd: dir,
      env: {
        HOIST_STATE_DIR: node.stateDir,
        HOIST_PACKAGE_DIR: dir,
        HOIST_OPERATION_ID: 'op-test',
        HOIST_PHASE_ID: `/test/${node.name}/${hook}`,
        HOIST_EXECUTION_ID: `exec-${hook}`,
        HOIST_NODE_BIN: process.execPath,
      },
      reject: false,
      timeout: spec.timeoutSeconds * 1000,
    });
    await this.recordPids();
    return { exitCode: result.exitCode, stdout: String(result.stdout), stderr: String(result.stderr), timedOut: result.timedOut };
  }

  /** Like hook() but throws with the hook's stderr when it fails. */
  async mustHook(node: FakeNode, version: string, hook: string, args: string[] = []): Promise<string> {
    const run = await this.hook(node, version, hook, args);
    if (run.exitCode !== 0) {
      throw new Error(
        `hook ${hook} of runtime ${version} on ${node.name} failed (exit ${run.exitCode}${run.timedOut ? ', timed out' : ''}): ${run.stderr}`,
      );
    }
    return run.stdout;
  }

  /** Reads `runtime/<file>` of a node; undefined when absent. */
  async runtimeFile(node: FakeNode, file: string): Promise<string | undefined> {
    return fs.readFile(path.join(node.stateDir, 'runtime', file), 'utf8').then(
      (t) => t.trim(),
      () => undefined,
    );
  }

  /** Pid in a node's `runtime/<name>.pid` if that process is alive. */
  async livePid(node: FakeNode, name: 'service' | 'etcd'): Promise<number | undefined> {
    const text = await this.runtimeFile(node, `${name}.pid`);
    const pid = text ? Number.parseInt(text, 10) : Number.NaN;
    return Number.isInteger(pid) && (await isLive(pid)) ? pid : undefined;
  }

  private async recordPids(): Promise<void> {
    for (const node of this.nodes) {
      for (const name of ['service', 'etcd'] as const) {
        const pid = await this.livePid(node, name);
        if (pid !== undefined) this.pids.add(pid);
      }
    }
  }

  /**
   * Stops every process the hooks started: the recorded pids, and any process whose command line
   * names this cluster's temp root (which catches one started by a hook killed mid-way).
   * Returns the pids still alive afterwards (none, if all went well).
   */
  async teardown(): Promise<number[]> {
    await this.recordPids();
    for (const pid of await processesMentioning(this.root)) this.pids.add(pid);
    for (const pid of this.pids) signal(pid, 'SIGTERM');
    for (let i = 0; i < 100 && (await this.alive()).length > 0; i++) await new Promise((r) => setTimeout(r, 100));
    for (const pid of await this.alive()) signal(pid, 'SIGKILL');
    for (let i = 0; i < 50 && (await this.alive()).length > 0; i++) await new Promise((r) => setTimeout(r, 100));
    const left = [...new Set([...(await this.alive()), ...(await processesMentioning(this.root))])];
    if (left.length === 0) await fs.rm(this.root, { recursive: true, force: true });
    return left;
  }

  private async alive(): Promise<number[]> {
    const out: number[] = [];
    for (const pid of this.pids) if (await isLive(pid)) out.push(pid);
    return out;
  }
}

/** True when `pid` runs and is not a zombie (an orphan the init process has not reaped yet). */
export async function isLive(pid: number): Promise<boolean> {
  try {
    const stat = await fs.readFile(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

async function processesMentioning(text: string): Promise<number[]> {
  const pids: number[] = [];
  for (const entry of await fs.readdir('/proc')) {
    const pid = Number(entry);
    if (!Number.isInteger(pid) || pid === process.pid) continue;
    const cmd = await fs.readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '');
    if (cmd.includes(text) && (await isLive(pid))) pids.push(pid);
  }
  return pids;
}

function signal(pid: number, name: NodeJS.Signals): void {
  try {
    process.kill(pid, name);
  } catch {
    // Already gone.
  }
}

/** Runs etcdctl against `endpoints` (client URLs) and returns stdout; throws on failure. */
export async function etcdctl(endpoints: string[], ...args: string[]): Promise<string> {
  const r = await execa('etcdctl', [`--endpoints=${endpoints.join(',')}`, '--dial-timeout=2s', '--command-timeout=5s', ...args], {
    env: { ETCDCTL_API: '3' },
    reject: false,
  });
  if (r.exitCode !== 0) throw new Error(`etcdctl ${args.join(' ')} failed: ${r.stderr}`);
  return r.stdout;
}

/** GET /health of the runtime service on `address`. */
export async function serviceHealth(
  address: string,
): Promise<{ status: string; version: string; node: string; etcd: Record<string, unknown> }> {
  const res = await fetch(`http://${address}:7575/health`, { signal: AbortSignal.timeout(5000) });
  return (await res.json()) as { status: string; version: string; node: string; etcd: Record<string, unknown> };
}
