/**
 * `hoist store copy` between the JSON store and a real etcd (127.0.112.x): there and back again
 * with nothing lost, and refused while an operation is live or when the target knows the cluster.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EtcdStore } from '../../../src/store/etcd-store.js';
import { JsonStore } from '../../../src/store/json-store.js';
import type { ClosableStore } from '../../../src/store/selected-store.js';
import type { ClusterRecord } from '../../../src/store/store.js';
import { startTestEtcd } from '../../helpers/store-etcd.js';
import { operation, plan } from '../../unit/store/fixtures.js';
import { HOIST } from '../kube-side/helpers.js';

const AT = '2024-05-01T10:00:00.000Z';

describe('hoist store copy', () => {
  let etcd: Awaited<ReturnType<typeof startTestEtcd>>;
  let work: string;
  let inventory: string;

  beforeAll(async () => {
    etcd = await startTestEtcd('127.0.112', 1);
    work = await mkdtemp(path.join(os.tmpdir(), 'hoist-store-copy-'));
    inventory = path.join(work, 'cluster.yaml');
    await writeFile(
      inventory,
      'apiVersion: hoist/v1\nkind: Cluster\nmetadata: {name: demo}\nspec:\n  nodes:\n    - {name: node-1, address: 127.0.112.50, role: master}\n',
    );
  }, 120_000);
  afterAll(async () => {
    await etcd?.stop();
    if (work) await rm(work, { recursive: true, force: true });
  });

  const hoist = (stateDir: string, args: string[]) =>
    execa(HOIST, ['-c', inventory, ...args], { env: { HOIST_STATE_DIR: stateDir }, reject: false });
  const url = () => `etcd://${etcd.endpoints.join(',')}`;

  /** A JSON state dir with a finished op-1 (3 changes), a finished op-2 and the cluster record. */
  async function seeded(live = false): Promise<string> {
    const dir = await mkdtemp(path.join(work, 'state-'));
    const store = new JsonStore(dir);
    const lease = await store.lock('demo', { host: 'h', pid: process.pid, command: 'seed' });
    const done = (id: string, created: string) => ({
      ...operation(id, created),
      state: live && id === 'op-2' ? ('in_progress' as const) : ('completed' as const),
    });
    await store.createOperation(done('op-1', '2024-05-01T10:00:00.000Z'), plan('op-1'), lease);
    for (const phase of ['/a', '/b', '/c']) await store.appendChange('demo', 'op-1', { phase, state: 'completed', at: AT }, lease);
    await store.createOperation(done('op-2', '2024-05-02T10:00:00.000Z'), plan('op-2'), lease);
    const cluster: ClusterRecord = {
      name: 'demo',
      status: 'active',
      image: { name: 'demo-app', version: '2.0.0' },
      lastOperation: 'op-2',
      updated: AT,
    };
    await store.putCluster(cluster, { lease, expect: null });
    await lease.release();
    await store.close();
    return dir;
  }

  async function contents(store: ClosableStore) {
    const ops = await store.listOperations('demo');
    return {
      cluster: await store.getCluster('demo'),
      ops,
      plans: await Promise.all(ops.map((o) => store.getPlan('demo', o.id))),
      changes: await Promise.all(ops.map((o) => store.readChanges('demo', o.id))),
    };
  }

  it('copies a cluster from JSON to etcd and back, with nothing lost', async () => {
    const source = await seeded();
    const there = await hoist(source, ['store', 'copy', '--from', 'json', '--to', url()]);
    expect(there.exitCode, there.stderr).toBe(0);
    expect(there.stdout).toContain('2 operations, 3 changes');
    const json = new JsonStore(source);
    const onEtcd = new EtcdStore({ endpoints: etcd.endpoints }, work);
    const back = await mkdtemp(path.join(work, 'back-'));
    try {
      const expected = await contents(json);
      expect(expected.changes[1]?.map((c) => c.phase)).toEqual(['/a', '/b', '/c']);
      expect(await contents(onEtcd)).toEqual(expected);
      // The etcd lease's epoch continues above the JSON one.
      expect((await onEtcd.readLease('demo'))!.epoch).toBeGreaterThan((await json.readLease('demo'))!.epoch);

      const again = await hoist(back, ['store', 'copy', '--from', url(), '--to', 'json']);
      expect(again.exitCode, again.stderr).toBe(0);
      const returned = new JsonStore(back);
      expect(await contents(returned)).toEqual(expected);
      await returned.close();

      // The target knows the cluster now: a second copy is refused and changes nothing.
      const twice = await hoist(source, ['store', 'copy', '--from', 'json', '--to', url()]);
      expect(twice.exitCode).toBe(4);
      expect(twice.stderr).toContain('ERR_STORE_COPY_TARGET_USED');
    } finally {
      await json.close();
      await onEtcd.close();
    }
  });

  it('refuses while an operation is live, writing nothing', async () => {
    const source = await seeded(true);
    const r = await hoist(source, ['store', 'copy', '--from', 'json', '--to', `etcd://${etcd.endpoints[0]}`, '--state-dir', source]);
    expect(r.exitCode).toBe(4);
    expect(r.stderr).toContain('ERR_STORE_COPY_LIVE');
    expect(r.stderr).toContain('op-2');
  });
});
