/**
 * (Run with `npm run test:upgrade-kinds`: whole upgrades take minutes.)
 * A multi-hop upgrade on the sandbox: image 2.1.0 (which accepts only 2.0.0 and later) built with
 * `--upgrade-via` 2.0.0 takes a cluster on 1.0.0 through 2.0.0's runtime, then to 2.1.0 with its
 * etcd 3.5 block. A whole rollback from the middle of the second hop undoes both hops, newest
 * first, back to 1.0.0; then the same image upgrades the cluster all the way automatically.
 */
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectExit, hoistIn, IMAGE_2, leaves, RUNTIME_1, RUNTIME_2, type Sandbox, sandboxUp } from '../kube-side/helpers.js';

const IMAGE_2_1 = fileURLToPath(new URL('../../../fixtures/images/upgrade-demo-2.1.0', import.meta.url));
const RUNTIME_2_1 = '7.0.57-11710';
const ETCD_KEY = '/upgrade-kinds/multi-hop';
const STOP_AFTER = '/target/masters/node-1';

describe('upgrade kinds › multi-hop 1.0.0 → (2.0.0) → 2.1.0', () => {
  let sb: Sandbox;
  let image: string;
  let executed: string[];

  beforeAll(async () => {
    sb = await sandboxUp({ firstAddress: '127.0.100.2', masters: 1, workers: 1 });
    image = path.join(await fs.mkdtemp(path.join(os.tmpdir(), 'hoist-via-')), 'upgrade-demo-2.1.0.tar.gz');
  }, 180_000);

  afterAll(async () => {
    await sb?.down();
    if (image) await fs.rm(path.dirname(image), { recursive: true, force: true });
  });

  it('refuses the plain 2.1.0 image, naming the intermediate version it lacks', async () => {
    const run = await sb.hoist(['upgrade', '--manual', IMAGE_2_1]);
    expect(run.exitCode).toBe(3);
    expect(run.stderr).toContain('error[ERR_UPGRADE_PATH]: upgrade-demo 2.1.0 cannot upgrade from installed version 1.0.0');
    expect(run.stderr).toContain('--upgrade-via');
    // Refused before anything was recorded: the store knows no operation of the cluster.
    const status = JSON.parse((await sb.hoist(['status', '-o', 'json'])).stdout) as { lastOperation: unknown; note?: string };
    expect(status).toMatchObject({ lastOperation: null, note: 'no operation has run on this cluster' });
  });

  it(`builds the image with --upgrade-via and runs the upgrade up to ${STOP_AFTER}`, { timeout: 900_000 }, async () => {
    expectExit(await hoistIn(sb.stateDir, ['image', 'build', IMAGE_2_1, '--upgrade-via', IMAGE_2, '--out', image]), 0, 'image build');
    expect((await sb.etcdctl(['put', ETCD_KEY, 'before'])).exitCode).toBe(0);
    expectExit(await sb.hoist(['upgrade', '--manual', image]), 0, 'hoist upgrade --manual');
    const plan = await sb.plan();
    expect(plan.phases.map((p) => p.id)).toEqual(['/init', '/checks', '/pre-update', '/2.0.0', '/target', '/migration', '/app', '/gc']);
    for (const id of ['/init', '/checks', '/pre-update', '/2.0.0', '/target/bootstrap', '/target/coredns', STOP_AFTER]) {
      expectExit(await sb.hoist(['plan', 'execute', '--phase', id]), 0, `plan execute --phase ${id}`);
    }
    executed = leaves((await sb.plan()).phases)
      .filter((p) => p.state === 'completed')
      .map((p) => p.id);
    expect(executed.some((id) => id.startsWith('/2.0.0/workers/'))).toBe(true);
    const version = async (i: number) => (await sb.health(sb.nodes[i]!.address)).version;
    expect(await version(0)).toBe(RUNTIME_2_1);
    expect(await version(1)).toBe(RUNTIME_2);
  });

  it('a whole rollback undoes the second hop, then the first, and the cluster is back on 1.0.0', { timeout: 900_000 }, async () => {
    const run = await sb.hoist(['rollback', '--confirm']);
    expectExit(run, 0, 'hoist rollback --confirm');
    const order = run.stderr
      .split('\n')
      .filter((l) => l.startsWith('Rolling back "'))
      .map((l) => /"([^"]+)"/.exec(l)![1]!);
    expect(order).toEqual([...executed].reverse());
    const lastTarget = order.findLastIndex((id) => id.startsWith('/target/'));
    const firstHop = order.findIndex((id) => id.startsWith('/2.0.0/'));
    expect(lastTarget).toBeLessThan(firstHop);
    for (const n of sb.nodes) expect([n.name, (await sb.health(n.address)).version]).toEqual([n.name, RUNTIME_1]);
    const status = JSON.parse((await sb.hoist(['status', '-o', 'json'])).stdout);
    expect(status).toMatchObject({ status: 'active', installedVersion: '1.0.0', lastOperation: { state: 'failed', to: '2.1.0' } });
    expect((await sb.etcdctl(['get', ETCD_KEY, '--print-value-only'])).stdout.trim()).toBe('before');
  });

  it('the same image then upgrades the cluster through both hops automatically', { timeout: 900_000 }, async () => {
    const run = await sb.hoist(['upgrade', image]);
    expectExit(run, 0, 'hoist upgrade');
    expect(run.stdout).toContain('upgraded from 1.0.0 to 2.1.0');
    expect(run.stderr).toMatch(/Executing "\/2\.0\.0\/workers\/node-2\/system-upgrade" on node-2/);
    for (const n of sb.nodes) expect([n.name, (await sb.health(n.address)).version]).toEqual([n.name, RUNTIME_2_1]);
    expect((await sb.etcdctl(['get', ETCD_KEY, '--print-value-only'])).stdout.trim()).toBe('before');
    const status = JSON.parse((await sb.hoist(['status', '-o', 'json'])).stdout);
    expect(status).toMatchObject({ status: 'active', installedVersion: '2.1.0' });
  });
});
