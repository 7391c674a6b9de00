/**
 * A 1 master + 2 workers sandbox upgraded with `--max-unavailable-workers 2`: the /workers group
 * holds both workers and runs them side by side. The Kubernetes steps patch nodes and read
 * endpoints through one kubectl proxy on the master; the upgrade's orchestrator is killed -9 while
 * that proxy runs, and the proxy must not outlive it.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { processes } from '../ssh/helpers.js';
import { expectExit, HOIST, IMAGE_2, leaves, type PlanJson, phaseMap, RUNTIME_2, type Sandbox, sandboxUp, tainted } from './helpers.js';

/** Live `kubectl proxy` processes of the sandbox. */
async function kubeProxies(sb: Sandbox): Promise<number[]> {
  return (await processes())
    .filter((p) => p.comm === 'kubectl' && p.cmdline.includes(' proxy ') && p.cmdline.includes(sb.stateDir))
    .map((p) => p.pid);
}

/** Polls `check` every 200 ms for at most `ms` (a bound catching a hang, not a timing). */
async function within(ms: number, check: () => Promise<boolean>): Promise<boolean> {
  for (const end = Date.now() + ms; Date.now() < end; await new Promise((r) => setTimeout(r, 200))) if (await check()) return true;
  return check();
}

/** The action and params of every execution recorded on a node. */
async function executions(nodeStateDir: string): Promise<{ action: string; params: { args?: string[]; path?: string } }[]> {
  const root = path.join(nodeStateDir, 'agent', 'executions');
  return Promise.all(
    (await fs.readdir(root)).map(async (id) => JSON.parse(await fs.readFile(path.join(root, id, 'request.json'), 'utf8'))),
  );
}

interface Change {
  seq: number;
  phase: string;
  state: string;
}

describe('kube-side › 1 master + 2 workers with --max-unavailable-workers 2', () => {
  let sb: Sandbox;
  let plan: PlanJson;

  beforeAll(async () => {
    sb = await sandboxUp({ firstAddress: '127.0.25.2', masters: 1, workers: 2 });
  });

  afterAll(async () => {
    await sb?.down();
  });

  it('the sandbox has one master and two workers', async () => {
    expect(sb.nodes.map((n) => [n.name, n.role])).toEqual([
      ['node-1', 'master'],
      ['node-2', 'worker'],
      ['node-3', 'worker'],
    ]);
    const nodes = await sb.kubeNodes();
    expect(nodes.map((n) => n.metadata.name).sort()).toEqual(['node-1', 'node-2', 'node-3']);
  });

  it('hoist upgrade killed -9 while the kubectl proxy serves it: the proxy stops with it', { timeout: 300_000 }, async () => {
    const run = execa(HOIST, ['-c', sb.clusterFile, 'upgrade', IMAGE_2, '--max-unavailable-workers', '2'], {
      env: { HOIST_STATE_DIR: sb.stateDir },
      reject: false,
    });
    const started = await within(240_000, async () => (await kubeProxies(sb)).length > 0 || run.exitCode !== null);
    expect(started && run.exitCode === null, 'the upgrade started a kubectl proxy before it ended').toBe(true);
    run.kill('SIGKILL');
    await run;
    // The agent on node-1 lives on; its client connection died with the orchestrator.
    expect(await within(30_000, async () => (await kubeProxies(sb)).length === 0)).toBe(true);
  });

  it('hoist plan resume completes the upgrade', { timeout: 300_000 }, async () => {
    const run = await sb.hoist(['plan', 'resume']);
    expectExit(run, 0, 'hoist plan resume');
    plan = await sb.plan();
    expect(plan.operation.state).toBe('completed');
    expect(
      leaves(plan.phases)
        .filter((p) => p.state !== 'completed')
        .map((p) => p.id),
    ).toEqual([]);
  });

  it('node patches and endpoints went through the kubectl proxy: kubectl ran only for drains, hooks and manifests', async () => {
    const record = JSON.parse(await fs.readFile(path.join(sb.dir, 'sandbox.json'), 'utf8')) as {
      nodes: { name: string; nodeStateDir: string }[];
    };
    const master = await executions(record.nodes.find((n) => n.name === 'node-1')!.nodeStateDir);
    const kubectl = master.filter((e) => e.action === 'kube.run').map((e) => e.params.args!);
    const api = master.filter((e) => e.action === 'kube.api').map((e) => e.params.path!);
    expect(kubectl.filter((a) => ['taint', 'cordon', 'uncordon', 'label'].includes(a[0]!) || a.includes('endpoints'))).toEqual([]);
    expect(kubectl.filter((a) => a[0] === 'drain')).toHaveLength(3);
    // taint, uncordon, untaint (and endpoints for the workers) of 3 nodes, labels of 3 nodes.
    expect(api.filter((p) => p.startsWith('/api/v1/nodes/')).length).toBeGreaterThanOrEqual(3 * 4);
    expect(api.filter((p) => p.includes('/endpoints?')).length).toBeGreaterThanOrEqual(2 * 3);
    // The agents were shut down with the finished upgrade; no proxy is left.
    expect(await kubeProxies(sb)).toEqual([]);
  });

  it('the /workers group holds both workers, run two at a time', () => {
    const phases = phaseMap(plan.phases);
    const workers = phases.get('/workers')!;
    expect(workers.phases.map((p) => p.id)).toEqual(['/workers/node-2', '/workers/node-3']);
    expect(workers.parallel).toBe(2);
    expect([...phases.keys()].filter((id) => id.startsWith('/masters/node-2') || id.startsWith('/masters/node-3'))).toEqual([]);
    for (const w of workers.phases) expect(w.phases.map((p) => p.id.split('/').pop())).toContain('drain');
  });

  it('both workers were in progress at the same time', async () => {
    const file = path.join(sb.stateDir, 'clusters', 'upgrade-demo', 'operations', plan.operation.id, 'changelog.ndjson');
    const changes = (await fs.readFile(file, 'utf8'))
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as Change);
    const of = (node: string) => changes.filter((c) => c.phase.startsWith(`/workers/${node}/`));
    const firstStart = (node: string) =>
      Math.min(
        ...of(node)
          .filter((c) => c.state === 'in_progress')
          .map((c) => c.seq),
      );
    const lastDone = (node: string) =>
      Math.max(
        ...of(node)
          .filter((c) => c.state === 'completed')
          .map((c) => c.seq),
      );
    // Each worker started before the other one finished: the two subtrees overlapped.
    expect(firstStart('node-3')).toBeLessThan(lastDone('node-2'));
    expect(firstStart('node-2')).toBeLessThan(lastDone('node-3'));
  });

  it('every node runs 7.0.56-11709, schedulable, untainted; the cluster is active at 2.0.0', async () => {
    for (const n of sb.nodes) expect([n.name, (await sb.health(n.address)).version]).toEqual([n.name, RUNTIME_2]);
    for (const node of await sb.kubeNodes()) {
      expect(!!node.spec.unschedulable, node.metadata.name).toBe(false);
      expect(tainted(node), node.metadata.name).toBe(false);
      expect(node.metadata.labels?.['hoist/version'], node.metadata.name).toBe('2.0.0');
    }
    // The guarded pod on the last worker was evicted once its budget let it go.
    expect((await sb.kubectl(['get', 'pod', 'guarded-1', '-n', 'default'])).exitCode).not.toBe(0);
    const status = JSON.parse((await sb.hoist(['status', '-o', 'json'])).stdout) as Record<string, unknown>;
    expect(status).toMatchObject({ status: 'active', installedVersion: '2.0.0', activeOperation: null });
  });
});
