/**
 * A 1 master + 2 workers sandbox upgraded with `--max-unavailable-workers 2`: the /workers group
 * holds both workers and runs them side by side.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectExit, IMAGE_2, leaves, type PlanJson, phaseMap, RUNTIME_2, type Sandbox, sandboxUp, tainted } from './helpers.js';

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

  it('hoist upgrade --max-unavailable-workers 2 completes', { timeout: 300_000 }, async () => {
    const run = await sb.hoist(['upgrade', IMAGE_2, '--max-unavailable-workers', '2']);
    expectExit(run, 0, 'hoist upgrade --max-unavailable-workers 2');
    expect(run.stdout).toMatch(/Cluster upgrade-demo upgraded from 1\.0\.0 to 2\.0\.0/);
    plan = await sb.plan();
    expect(plan.operation.state).toBe('completed');
    expect(
      leaves(plan.phases)
        .filter((p) => p.state !== 'completed')
        .map((p) => p.id),
    ).toEqual([]);
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
