/**
 * Ctrl-C during a drain stops kubectl on the lead master before hoist exits 130, and the drain
 * then rolls back cleanly; a second state directory (a second operator) on the same sandbox is
 * refused by the nodes while the first operation is live, and the first one loses nothing.
 * Real sandbox on 127.0.75.x; budgets never free themselves, so the drain stays open.
 */
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectExit, hoistIn, IMAGE_2, leaves, type Sandbox, sandboxUp } from '../kube-side/helpers.js';
import {
  changelog,
  executionRecords,
  hoistBackground,
  kubectlDrains,
  releaseBudget,
  type SandboxNode,
  sandboxNodes,
  until,
} from './helpers.js';

const DRAIN = '/masters/node-3/drain';

describe('ownership › cancel and a second operator', { timeout: 900_000 }, () => {
  let sb: Sandbox;
  let nodes: SandboxNode[];
  let operation: string;
  let other: string;

  beforeAll(async () => {
    process.env.HOIST_SANDBOX_PDB_RELEASE_MS = 'never';
    try {
      sb = await sandboxUp({ firstAddress: '127.0.75.2' });
    } finally {
      delete process.env.HOIST_SANDBOX_PDB_RELEASE_MS;
    }
    nodes = await sandboxNodes(sb);
    other = await fs.mkdtemp(path.join(os.tmpdir(), 'hoist-second-operator-'));
    const up = await sb.hoist(['upgrade', '--manual', IMAGE_2, '-o', 'json']);
    expectExit(up, 0, 'hoist upgrade --manual');
    operation = (JSON.parse(up.stdout) as { id: string }).id;
    for (const group of ['/init', '/checks', '/pre-update', '/bootstrap', '/coredns', '/masters/node-1', '/masters/node-2']) {
      expectExit(await sb.hoist(['plan', 'execute', '--phase', group]), 0, `plan execute --phase ${group}`);
    }
  }, 1_200_000);

  afterAll(async () => {
    await sb?.down();
    if (other) await fs.rm(other, { recursive: true, force: true });
  }, 120_000);

  it('Ctrl-C during the drain: kubectl is gone before hoist exits 130, the execution is recorded cancelled', async () => {
    const run = hoistBackground(sb, ['plan', 'execute', '--phase', DRAIN]);
    await until(async () => (await kubectlDrains(sb, 'node-3')).length > 0, 'kubectl drain node-3', run.stderr);
    run.child.kill('SIGINT');
    const r = await run.child;
    const left = await kubectlDrains(sb, 'node-3');
    expect(r.exitCode, run.stderr()).toBe(130);
    expect(left).toEqual([]);
    expect(run.stderr()).toContain('ERR_INTERRUPTED');

    const last = (await changelog(sb, operation)).filter((c) => c.phase === DRAIN).at(-1)!;
    expect(last).toMatchObject({ state: 'failed', error: { code: 'ERR_INTERRUPTED' } });
    const all = (await Promise.all(nodes.map(executionRecords))).flat();
    const drains = all.filter((e) => e.phaseId === DRAIN && e.action === 'kube.run' && e.params.args?.[0] === 'drain');
    expect(drains).toHaveLength(1);
    expect(drains[0]!.result).toMatchObject({ ok: false, error: { code: 'ERR_EXECUTION_CANCELLED' } });
  });

  it('rolling the drain back uncordons node-3, and nothing is evicting it anymore', async () => {
    expectExit(await sb.hoist(['plan', 'rollback', '--phase', DRAIN]), 0, `plan rollback --phase ${DRAIN}`);
    const node3 = (await sb.kubeNodes()).find((n) => n.metadata.name === 'node-3')!;
    expect(node3.spec.unschedulable ?? false).toBe(false);
    await new Promise((r) => setTimeout(r, 2000));
    expect(await kubectlDrains(sb, 'node-3')).toEqual([]);
    expect((await sb.kubeNodes()).find((n) => n.metadata.name === 'node-3')!.spec.unschedulable ?? false).toBe(false);
    expect((await sb.kubectl(['get', 'pod', 'guarded-1', '-n', 'default'])).exitCode).toBe(0);
  });

  it('a second state directory: its agent deploy and upgrade are refused by the nodes, naming the operation', async () => {
    const before = await changelog(sb, operation);
    const recordsBefore = (await Promise.all(nodes.map(executionRecords))).flat().length;
    const deploy = await hoistIn(other, ['-c', sb.clusterFile, 'agent', 'deploy']);
    expect(deploy.exitCode, deploy.stderr).toBe(4);
    expect(deploy.stderr).toContain('ERR_AGENT_LEASE_HELD');
    expect(deploy.stderr).toContain(`serves operation ${operation}`);
    const upgrade = await hoistIn(other, ['-c', sb.clusterFile, 'upgrade', '--manual', IMAGE_2]);
    expect(upgrade.exitCode, upgrade.stderr).toBe(4);
    expect(upgrade.stderr).toContain('ERR_AGENT_LEASE_HELD');
    const shutdown = await hoistIn(other, ['-c', sb.clusterFile, 'agent', 'shutdown']);
    expect(shutdown.exitCode, shutdown.stderr).toBe(4);

    // Nothing of the first operation was touched: same changelog, same records, agents up.
    expect(await changelog(sb, operation)).toEqual(before);
    expect((await Promise.all(nodes.map(executionRecords))).flat().length).toBe(recordsBefore);
    expectExit(await sb.hoist(['agent', 'status']), 0, 'hoist agent status');
  });

  it('the first operation goes on and completes', async () => {
    await releaseBudget(sb);
    expectExit(await sb.hoist(['plan', 'resume']), 0, 'hoist plan resume');
    expect(leaves((await sb.plan()).phases).filter((p) => p.state !== 'completed')).toEqual([]);
    if ((await sb.plan()).operation.state === 'in_progress') expectExit(await sb.hoist(['plan', 'complete']), 0, 'hoist plan complete');
    expect(JSON.parse((await sb.hoist(['status', '-o', 'json'])).stdout)).toMatchObject({ status: 'active', installedVersion: '2.0.0' });
    // The operation is over: the nodes serve nobody, so the second operator may deploy now.
    const deploy = await hoistIn(other, ['-c', sb.clusterFile, 'agent', 'deploy']);
    expect(deploy.exitCode, deploy.stderr).toBe(0);
  });
});
