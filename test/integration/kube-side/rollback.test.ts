/**
 * `hoist rollback` of an upgrade stopped in the middle of /masters (node-1 done, node-2 drained
 * and upgraded): the dry run lists the phases newest first, the real one puts the cluster back.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectExit, IMAGE_2, leaves, RUNTIME_1, RUNTIME_2, type Sandbox, sandboxUp, tainted } from './helpers.js';

const STOP_AFTER = '/masters/node-2/system-upgrade';
const ETCD_KEY = '/kube-side/rollback';

describe('kube-side › whole rollback from the middle of /masters', () => {
  let sb: Sandbox;
  /** Leaves executed before the rollback, in plan order, with the node each runs on. */
  let executed: { id: string; node: string | null }[];

  beforeAll(async () => {
    sb = await sandboxUp({ firstAddress: '127.0.22.2' });
  });

  afterAll(async () => {
    await sb?.down();
  });

  it(`runs the upgrade up to ${STOP_AFTER}`, { timeout: 300_000 }, async () => {
    expect((await sb.etcdctl(['put', ETCD_KEY, 'before'])).exitCode).toBe(0);
    expectExit(await sb.hoist(['upgrade', '--manual', IMAGE_2]), 0, 'hoist upgrade --manual');
    const all = leaves((await sb.plan()).phases);
    const stop = all.findIndex((p) => p.id === STOP_AFTER);
    expect(stop).toBeGreaterThan(0);
    executed = all.slice(0, stop + 1).map((p) => ({ id: p.id, node: p.node }));
    for (const group of ['/init', '/checks', '/pre-update', '/bootstrap', '/coredns', '/masters/node-1']) {
      expectExit(await sb.hoist(['plan', 'execute', '--phase', group]), 0, `plan execute --phase ${group}`);
    }
    for (const id of ['/masters/node-2/drain', STOP_AFTER])
      expectExit(await sb.hoist(['plan', 'execute', '--phase', id]), 0, `plan execute --phase ${id}`);

    const states = new Map(leaves((await sb.plan()).phases).map((p) => [p.id, p.state]));
    for (const p of all) expect(states.get(p.id), p.id).toBe(executed.some((e) => e.id === p.id) ? 'completed' : 'unstarted');
    expect((await sb.health(sb.nodes[0]!.address)).version).toBe(RUNTIME_2);
    expect((await sb.health(sb.nodes[1]!.address)).version).toBe(RUNTIME_2);
    expect((await sb.health(sb.nodes[2]!.address)).version).toBe(RUNTIME_1);
    const node2 = (await sb.kubeNodes()).find((n) => n.metadata.name === 'node-2')!;
    expect(node2.spec.unschedulable).toBe(true);
    expect((await sb.kubectl(['get', 'clusterrolebinding', 'kubelet-upgrade'])).exitCode).toBe(0);
  });

  it('rollback --dry-run lists every started phase newest first and changes nothing', async () => {
    const before = await sb.plan();
    const run = await sb.hoist(['rollback', '--dry-run']);
    expectExit(run, 0, 'hoist rollback --dry-run');
    const lines = run.stderr.split('\n').filter((l) => l.startsWith('[DRY-RUN]'));
    expect(lines).toEqual([...executed].reverse().map((p) => `[DRY-RUN] Rolling back "${p.id}" on ${p.node}`));

    const json = await sb.hoist(['rollback', '--dry-run', '-o', 'json']);
    expectExit(json, 0, 'hoist rollback --dry-run -o json');
    expect((JSON.parse(json.stdout) as { phases: string[] }).phases).toEqual([...executed].reverse().map((p) => p.id));

    expect(await sb.plan()).toEqual(before);
    expect((await sb.health(sb.nodes[1]!.address)).version).toBe(RUNTIME_2);
  });

  it('rollback without --confirm and without a terminal refuses and changes nothing', async () => {
    const before = await sb.plan();
    const run = await sb.hoist(['rollback']);
    expect(run.exitCode).toBe(2);
    expect(run.stderr).toContain('--confirm');
    expect(await sb.plan()).toEqual(before);
  });

  it('rollback --confirm undoes every started phase newest first and closes the operation as failed', { timeout: 300_000 }, async () => {
    const run = await sb.hoist(['rollback', '--confirm']);
    expectExit(run, 0, 'hoist rollback --confirm');
    expect(run.stdout).toMatch(/Operation \S+ rolled back; cluster upgrade-demo is active at 1\.0\.0/);
    const order = run.stderr
      .split('\n')
      .filter((l) => l.startsWith('Rolling back "'))
      .map((l) => l.trim());
    expect(order).toEqual([...executed].reverse().map((p) => `Rolling back "${p.id}" on ${p.node}`));
    expect(run.stderr).toMatch(/Rolling back operation finished in \S/);

    const plan = await sb.plan();
    expect(plan.operation.state).toBe('failed');
    for (const p of leaves(plan.phases)) expect(p.state, p.id).toBe(executed.some((e) => e.id === p.id) ? 'rolled_back' : 'unstarted');
  });

  it('every node serves the old runtime again, schedulable and untainted; etcd kept its data', async () => {
    for (const n of sb.nodes) {
      const h = await sb.health(n.address);
      expect([n.name, h.version, h.status]).toEqual([n.name, RUNTIME_1, 'healthy']);
    }
    for (const node of await sb.kubeNodes()) {
      expect(!!node.spec.unschedulable, node.metadata.name).toBe(false);
      expect(tainted(node), node.metadata.name).toBe(false);
      expect(node.metadata.labels?.['hoist/version'], node.metadata.name).not.toBe('2.0.0');
    }
    const get = await sb.etcdctl(['get', ETCD_KEY, '--print-value-only']);
    expect(get.exitCode, get.stderr).toBe(0);
    expect(get.stdout.trim()).toBe('before');
    // The kubelet permissions granted for the upgrade are revoked.
    const binding = await sb.kubectl(['get', 'clusterrolebinding', 'kubelet-upgrade']);
    expect(binding.exitCode).not.toBe(0);
    expect(binding.stderr).toMatch(/not ?found/i);
  });

  it('the cluster is active at 1.0.0 with the failed operation as its last', async () => {
    const status = await sb.hoist(['status', '-o', 'json']);
    expectExit(status, 0, 'hoist status');
    expect(JSON.parse(status.stdout)).toMatchObject({
      status: 'active',
      installedVersion: '1.0.0',
      activeOperation: null,
      lastOperation: { state: 'failed', to: '2.0.0' },
    });
    // No operation is active any more, so there is nothing to roll back.
    const again = await sb.hoist(['rollback', '--dry-run']);
    expect(again.exitCode).toBe(4);
    expect(again.stderr).not.toContain('[DRY-RUN] Rolling back');
  });
});
