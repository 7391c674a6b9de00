/**
 * A drain held back by a PodDisruptionBudget: the sandbox's `guarded-1` (on the last node) sits
 * under default/guarded-pdb, which refuses the first eviction and frees itself a little later.
 * hoist names the pod and the budget while it waits, then the drain finishes.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectExit, IMAGE_2, leaves, type Sandbox, sandboxUp } from './helpers.js';

const DRAIN = '/masters/node-3/drain';

describe('kube-side › drain blocked by a budget that is released later', () => {
  let sb: Sandbox;
  let operation: string;

  beforeAll(async () => {
    sb = await sandboxUp({ firstAddress: '127.0.23.2' });
  });

  afterAll(async () => {
    await sb?.down();
  });

  it('guarded-1 runs on the last node under a budget that allows no disruption', async () => {
    const pod = JSON.parse((await sb.kubectl(['get', 'pod', 'guarded-1', '-n', 'default', '-o', 'json'])).stdout) as {
      spec: { nodeName: string };
    };
    expect(pod.spec.nodeName).toBe('node-3');
    const pdb = JSON.parse((await sb.kubectl(['get', 'pdb', 'guarded-pdb', '-n', 'default', '-o', 'json'])).stdout) as {
      status: { disruptionsAllowed: number };
    };
    expect(pdb.status.disruptionsAllowed).toBe(0);
  });

  it('runs the upgrade up to the drain of node-3', { timeout: 300_000 }, async () => {
    const up = await sb.hoist(['upgrade', '--manual', IMAGE_2, '-o', 'json']);
    expectExit(up, 0, 'hoist upgrade --manual');
    operation = (JSON.parse(up.stdout) as { id: string }).id;
    for (const group of ['/init', '/checks', '/pre-update', '/bootstrap', '/coredns', '/masters/node-1', '/masters/node-2']) {
      expectExit(await sb.hoist(['plan', 'execute', '--phase', group]), 0, `plan execute --phase ${group}`);
    }
  });

  it('names the pod and its budget while the eviction is refused, then drains the node', { timeout: 240_000 }, async () => {
    const run = await sb.hoist(['plan', 'execute', '--phase', DRAIN]);
    expectExit(run, 0, `plan execute --phase ${DRAIN}`);
    expect(run.stderr).toContain(`Executing "${DRAIN}" on node-1`);

    // The budget frees itself before the 10 s "Still executing" line, so the operation's debug log
    // is where the refusal is reliably reported.
    const log = await sb.operationLog(operation);
    const progress = log.filter((l) => l.event === 'drain.progress' && l.phase === DRAIN).map((l) => l.msg ?? '');
    const blocked = progress.filter((m) => m.includes('guarded-1'));
    expect(
      blocked.some(
        (m) =>
          m.includes('default/guarded-1') && m.includes('PodDisruptionBudget default/guarded-pdb') && m.includes('drain of node "node-3"'),
      ),
      progress.join('\n'),
    ).toBe(true);
    // Once released, the pod is evicted, and that is reported after the refusal.
    const refusedAt = progress.findIndex((m) => m.includes('guarded-pdb'));
    const evictedAt = progress.indexOf('pod/guarded-1 evicted');
    expect(evictedAt, progress.join('\n')).toBeGreaterThan(refusedAt);
    // Any "Still executing" line on stderr carries the same news.
    for (const line of run.stderr.split('\n').filter((l) => l.includes('Still executing'))) expect(line).toContain(DRAIN);

    const states = new Map(leaves((await sb.plan()).phases).map((p) => [p.id, p.state]));
    expect(states.get(DRAIN)).toBe('completed');
  });

  it('the pod is gone and node-3 is cordoned with only DaemonSet pods left', async () => {
    const pod = await sb.kubectl(['get', 'pod', 'guarded-1', '-n', 'default']);
    expect(pod.exitCode).not.toBe(0);
    expect(pod.stderr).toMatch(/not ?found/i);
    const node3 = (await sb.kubeNodes()).find((n) => n.metadata.name === 'node-3')!;
    expect(node3.spec.unschedulable).toBe(true);
    const pods = JSON.parse((await sb.kubectl(['get', 'pods', '-A', '-o', 'json'])).stdout) as {
      items: { metadata: { name: string; ownerReferences?: { kind: string }[] }; spec: { nodeName: string } }[];
    };
    const left = pods.items.filter((p) => p.spec.nodeName === 'node-3');
    expect(left.map((p) => p.metadata.name)).toEqual(['log-forwarder-node-3']);
  });

  it('the rest of the upgrade resumes and completes', { timeout: 300_000 }, async () => {
    expectExit(await sb.hoist(['plan', 'resume']), 0, 'hoist plan resume');
    expect(
      leaves((await sb.plan()).phases)
        .filter((p) => p.state !== 'completed')
        .map((p) => p.id),
    ).toEqual([]);
    // A resume that leaves every phase completed closes the operation itself.
    const status = JSON.parse((await sb.hoist(['status', '-o', 'json'])).stdout) as Record<string, unknown>;
    expect(status).toMatchObject({ status: 'active', installedVersion: '2.0.0', activeOperation: null });
  });
});
