/**
 * Helpers of the ownership tests: an image whose runtime hooks log every run and can be held
 * open, hoist run in the background (to kill it), and readers of the evidence each test shows:
 * the changelog, the nodes' execution records, the hooks' own log lines, kubectl processes.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { execa, type ResultPromise } from 'execa';
import { HOIST, IMAGE_2, type Sandbox } from '../kube-side/helpers.js';
import { processes } from '../ssh/helpers.js';

/** A sandbox node as sandbox.json records it. */
export interface SandboxNode {
  name: string;
  nodeStateDir: string;
}

/** Nodes of the sandbox with their state dirs. */
export async function sandboxNodes(sb: Sandbox): Promise<SandboxNode[]> {
  const record = JSON.parse(await fs.readFile(path.join(sb.dir, 'sandbox.json'), 'utf8')) as { nodes: SandboxNode[] };
  return record.nodes;
}

/**
 * Image 2.0.0 whose runtime hooks first append "<phase> <hook> <execution>" to the node's
 * `hook-runs.log`, then wait while `hold-<hook>` exists in the node state dir.
 */
export async function countingImage(sb: Sandbox): Promise<string> {
  const src = path.join(sb.stateDir, 'counting-src');
  await fs.cp(IMAGE_2, src, { recursive: true });
  const pkg = path.join(src, 'packages', 'runtime-7.0.56-11709', 'package.yaml');
  const prefix = `echo "$HOIST_PHASE_ID $0 $HOIST_EXECUTION_ID" >> "$HOIST_STATE_DIR/hook-runs.log"; while [ -f "$HOIST_STATE_DIR/hold-$0" ]; do sleep 0.1; done; `;
  const text = await fs.readFile(pkg, 'utf8');
  await fs.writeFile(pkg, text.replaceAll(`run: '"`, `run: '${prefix}"`));
  const out = path.join(sb.stateDir, 'counting-image');
  const build = await execa(HOIST, ['image', 'build', src, '--out', out], { env: { HOIST_STATE_DIR: sb.stateDir }, reject: false });
  if (build.exitCode !== 0) throw new Error(`image build failed: ${build.stderr}`);
  return out;
}

/** The hooks' own log lines of a node: "<phase> <hook> <execution>". */
export async function hookRuns(node: SandboxNode): Promise<string[]> {
  const text = await fs.readFile(path.join(node.nodeStateDir, 'hook-runs.log'), 'utf8').catch(() => '');
  return text.split('\n').filter(Boolean);
}

/** hoist in the background, in `stateDir`, with its stderr collected. */
export function hoistBackground(sb: Sandbox, args: string[], stateDir = sb.stateDir): { child: ResultPromise; stderr: () => string } {
  const child = execa(HOIST, ['-c', sb.clusterFile, ...args], { env: { HOIST_STATE_DIR: stateDir }, reject: false });
  let err = '';
  child.stderr?.on('data', (c: Buffer) => (err += c.toString()));
  return { child, stderr: () => err };
}

/** Polls `check` until true; fails with `what` after `limitMs`. */
export async function until(
  check: () => Promise<boolean> | boolean,
  what: string,
  context?: () => string,
  limitMs = 400_000,
): Promise<void> {
  const deadline = Date.now() + limitMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${context ? `:\n${context()}` : ''}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** One changelog line. */
export interface Change {
  seq: number;
  phase: string;
  state: string;
  error?: { code: string };
  owner?: { attempt?: string; executions?: { node: string; id: string }[] };
}

/** The operation's changelog, checked to be strictly increasing. */
export async function changelog(sb: Sandbox, operation: string, stateDir = sb.stateDir): Promise<Change[]> {
  const file = path.join(stateDir, 'clusters', 'upgrade-demo', 'operations', operation, 'changelog.ndjson');
  const lines = (await fs.readFile(file, 'utf8')).split('\n').filter(Boolean);
  const changes = lines.map((l) => JSON.parse(l) as Change);
  changes.forEach((c, i) => {
    if (i > 0 && c.seq <= changes[i - 1]!.seq) throw new Error(`changelog seq not increasing at line ${i + 1}`);
  });
  return changes;
}

/** A node's execution record. */
export interface ExecutionRecord {
  id: string;
  action: string;
  phaseId: string;
  attempt: string;
  params: { args?: string[]; hook?: string };
  result?: { ok: boolean; error?: { code: string } };
}

/** Every execution recorded on a node. */
export async function executionRecords(node: SandboxNode): Promise<ExecutionRecord[]> {
  const root = path.join(node.nodeStateDir, 'agent', 'executions');
  const out: ExecutionRecord[] = [];
  for (const id of await fs.readdir(root).catch(() => [] as string[])) {
    const req = JSON.parse(await fs.readFile(path.join(root, id, 'request.json'), 'utf8')) as Omit<ExecutionRecord, 'id' | 'result'>;
    const result = await fs
      .readFile(path.join(root, id, 'result.json'), 'utf8')
      .then((t) => JSON.parse(t) as ExecutionRecord['result'])
      .catch(() => undefined);
    out.push({ id, ...req, ...(result ? { result } : {}) });
  }
  return out;
}

/** Live `kubectl ... drain NODE` processes of this sandbox. */
export async function kubectlDrains(sb: Sandbox, node: string): Promise<number[]> {
  return (await processes())
    .filter((p) => p.cmdline.includes('kubectl') && p.cmdline.includes(sb.stateDir) && p.cmdline.includes(`drain ${node}`))
    .map((p) => p.pid);
}

/** Lets the sandbox's guarded-pdb allow one disruption, so a held drain can finish. */
export async function releaseBudget(sb: Sandbox): Promise<void> {
  const r = await sb.kubectl([
    'patch',
    'pdb',
    'guarded-pdb',
    '-n',
    'default',
    '--type',
    'merge',
    '-p',
    '{"spec":{"maxUnavailable":1,"minAvailable":null}}',
  ]);
  if (r.exitCode !== 0) throw new Error(`kubectl patch pdb failed: ${r.stderr}`);
}
