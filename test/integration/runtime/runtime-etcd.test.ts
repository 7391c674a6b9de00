import { existsSync, promises as fs } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { etcdctl, FakeCluster, type FakeNode, serviceHealth } from './harness.js';

const V1 = '7.0.35-11706';
const V2 = '7.0.56-11709';
const V3 = '7.0.57-11710'; // carries etcd 3.5.0

const client = (n: FakeNode): string => `http://${n.address}:2379`;

async function etcdState(n: FakeNode): Promise<{ version: string; previousVersion: string | null; enabled: boolean }> {
  return JSON.parse(await fs.readFile(path.join(n.stateDir, 'etcd', 'state.json'), 'utf8'));
}

async function members(endpoint: string): Promise<Array<{ name: string; started: boolean }>> {
  const out = await etcdctl([endpoint], 'member', 'list');
  return out
    .trim()
    .split('\n')
    .map((line) => {
      const [, status, name] = line.split(', ');
      return { name: name ?? '', started: status === 'started' };
    });
}

async function get(endpoints: string[], key: string): Promise<string | undefined> {
  const out = await etcdctl(endpoints, 'get', key, '--print-value-only');
  return out === '' ? undefined : out.trim();
}

describe('runtime package', () => {
  describe('on a 3-master cluster with real etcd members', () => {
    let cluster: FakeCluster;
    let masters: FakeNode[];
    let n1: FakeNode, n2: FakeNode, n3: FakeNode;
    const all = (): string[] => masters.map(client);

    beforeAll(async () => {
      cluster = await FakeCluster.create('upgrade-demo', [
        { name: 'node-1', address: '127.0.2.1', role: 'master' },
        { name: 'node-2', address: '127.0.2.2', role: 'master' },
        { name: 'node-3', address: '127.0.2.3', role: 'master' },
      ]);
      masters = cluster.nodes;
      [n1, n2, n3] = masters as [FakeNode, FakeNode, FakeNode];
      for (const n of masters) for (const v of [V1, V2, V3]) await cluster.unpack(n, v);
    });

    afterAll(async () => {
      await cluster?.teardown();
    });

    it('forms a 3-member etcd cluster on install and start, and passes health', async () => {
      for (const n of masters) await cluster.mustHook(n, V1, 'install');
      // All members start together: the first one cannot get a quorum alone.
      await Promise.all(masters.map((n) => cluster.mustHook(n, V1, 'start')));
      await Promise.all(masters.map((n) => cluster.mustHook(n, V1, 'health')));

      const list = await members(client(n1));
      expect(list.map((m) => m.name).sort()).toEqual(['node-1', 'node-2', 'node-3']);
      expect(list.every((m) => m.started)).toBe(true);
      const report = await serviceHealth(n2.address);
      expect(report).toMatchObject({
        status: 'healthy',
        version: V1,
        node: 'node-2',
        etcd: { enabled: true, healthy: true, version: '3.4.23' },
      });
      expect(await cluster.runtimeFile(n1, 'current')).toBe(V1);
      expect(await etcdState(n1)).toEqual({ version: '3.4.23', previousVersion: null, enabled: true });
      expect(existsSync(path.join(n1.stateDir, 'etcd', '3.4.23', 'data', 'member'))).toBe(true);

      await etcdctl(all(), 'put', '/demo/before', 'v1-data');
    });

    it('is idempotent: a second install and start change nothing', async () => {
      const pid = await cluster.livePid(n1, 'etcd');
      await cluster.mustHook(n1, V1, 'install');
      expect(await cluster.mustHook(n1, V1, 'start')).toContain('service already running');
      expect(await cluster.livePid(n1, 'etcd')).toBe(pid);
    });

    it('keeps quorum while one node restarts on a new runtime version', async () => {
      const etcdPid = await cluster.livePid(n3, 'etcd');
      expect(etcdPid).toBeDefined();
      await cluster.mustHook(n3, V1, 'stop');
      expect(await cluster.livePid(n3, 'etcd')).toBeUndefined();
      expect(await cluster.livePid(n3, 'service')).toBeUndefined();

      await etcdctl([client(n1)], 'put', '/demo/during', 'two-of-three');
      expect(await get([client(n2)], '/demo/during')).toBe('two-of-three');

      await cluster.mustHook(n3, V2, 'install');
      await cluster.mustHook(n3, V2, 'start');
      await cluster.mustHook(n3, V2, 'health');
      expect((await serviceHealth(n3.address)).version).toBe(V2);
      expect(await cluster.runtimeFile(n3, 'current')).toBe(V2);
      expect(await cluster.runtimeFile(n3, 'previous')).toBe(V1);
      // The restarted member caught up with what was written while it was down.
      expect(await get([client(n3)], '/demo/during')).toBe('two-of-three');
    });

    it('fails health when the service runs another version than the hook expects', async () => {
      // node-3 serves V2 now; V1's health must refuse it. A V1 copy with a short health timeout keeps this quick.
      await cluster.unpack(n3, V1, { healthTimeoutSeconds: 4 });
      const run = await cluster.hook(n3, V1, 'health');
      expect(run.timedOut).toBe(false);
      expect(run.exitCode).toBe(1);
      const lines = run.stderr.trim().split('\n');
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatch(new RegExp(`^runtime hook health failed: runtime ${V1} on node-3 is not healthy after \\d+ s: `));
      expect(lines[0]).toContain(`the service at http://127.0.2.3:7575/health serves runtime ${V2}, expected ${V1}`);
      await cluster.unpack(n3, V1);
    });

    it('sets the election flags with election-enable and election-disable', async () => {
      await cluster.mustHook(n1, V1, 'election-enable', ['127.0.2.1']);
      await cluster.mustHook(n2, V1, 'election-disable', ['127.0.2.2', '127.0.2.3']);
      const prefix = '/planet/cluster/upgrade-demo/election';
      expect(await get(all(), `${prefix}/127.0.2.1`)).toBe('true');
      expect(await get(all(), `${prefix}/127.0.2.2`)).toBe('false');
      expect(await get(all(), `${prefix}/127.0.2.3`)).toBe('false');
      await cluster.mustHook(n3, V2, 'election-enable', ['127.0.2.2']);
      expect(await get(all(), `${prefix}/127.0.2.2`)).toBe('true');
    });

    it('moves every node to the runtime that carries etcd 3.5.0 without changing the etcd version', async () => {
      for (const [n, from] of [
        [n1, V1],
        [n2, V1],
        [n3, V2],
      ] as const) {
        await cluster.mustHook(n, from, 'stop');
        await cluster.mustHook(n, V3, 'install');
        await cluster.mustHook(n, V3, 'start');
        await cluster.mustHook(n, V3, 'health');
      }
      for (const n of masters) expect((await etcdState(n)).version).toBe('3.4.23');
      expect((await serviceHealth(n1.address)).version).toBe(V3);
    });

    it('upgrades etcd: backup, disable, upgrade, restore on the lead, enable lead then others', async () => {
      await Promise.all(masters.map((n) => cluster.mustHook(n, V3, 'etcd-backup')));
      for (const n of masters) expect((await fs.stat(path.join(n.stateDir, 'backup', 'etcd.snapshot'))).size).toBeGreaterThan(0);

      for (const n of masters) await cluster.mustHook(n, V3, 'etcd-disable');
      for (const n of masters) expect(await cluster.livePid(n, 'etcd')).toBeUndefined();
      // The runtime keeps serving, reporting etcd as disabled.
      expect(await serviceHealth(n2.address)).toMatchObject({ status: 'healthy', etcd: { enabled: false } });

      await Promise.all(masters.map((n) => cluster.mustHook(n, V3, 'etcd-upgrade', ['3.5.0'])));
      for (const n of masters) {
        expect(await etcdState(n)).toEqual({ version: '3.5.0', previousVersion: '3.4.23', enabled: false });
        expect(await fs.readdir(path.join(n.stateDir, 'etcd', '3.5.0', 'data'))).toEqual([]);
        expect(existsSync(path.join(n.stateDir, 'etcd', '3.4.23', 'data', 'member'))).toBe(true);
      }
      // Re-running the upgrade (a resumed phase) is a no-op.
      expect(await cluster.mustHook(n2, V3, 'etcd-upgrade', ['3.5.0'])).toContain('already at 3.5.0');

      await cluster.mustHook(n1, V3, 'etcd-restore');
      await cluster.mustHook(n1, V3, 'etcd-enable');
      expect(await members(client(n1))).toEqual([{ name: 'node-1', started: true }]);
      // node-2 is told where the lead is; node-3 finds it; both at once, so one waits for the other.
      await Promise.all([cluster.mustHook(n2, V3, 'etcd-enable', ['127.0.2.1']), cluster.mustHook(n3, V3, 'etcd-enable')]);

      const list = await members(client(n1));
      expect(list.map((m) => m.name).sort()).toEqual(['node-1', 'node-2', 'node-3']);
      expect(list.every((m) => m.started)).toBe(true);
      expect(await get([client(n3)], '/demo/before')).toBe('v1-data');
      expect(await get([client(n2)], '/demo/during')).toBe('two-of-three');
      expect(await get([client(n3)], '/planet/cluster/upgrade-demo/election/127.0.2.1')).toBe('true');
      await Promise.all(masters.map((n) => cluster.mustHook(n, V3, 'health')));
      for (const n of masters) expect(await etcdState(n)).toEqual({ version: '3.5.0', previousVersion: '3.4.23', enabled: true });
      expect((await serviceHealth(n3.address)).etcd).toMatchObject({ version: '3.5.0', healthy: true });

      await etcdctl(all(), 'put', '/demo/after-upgrade', 'new-cluster-only');
    });

    it('rolls etcd back to the old members and their data', async () => {
      for (const n of masters) await cluster.mustHook(n, V3, 'etcd-disable');
      for (const n of masters) await cluster.mustHook(n, V3, 'etcd-rollback');
      for (const n of masters) {
        expect(await etcdState(n)).toEqual({ version: '3.4.23', previousVersion: null, enabled: false });
        // The abandoned data dir stays until a later gc.
        expect(existsSync(path.join(n.stateDir, 'etcd', '3.5.0', 'data', 'member'))).toBe(true);
      }
      // Rolling back twice is a no-op.
      expect(await cluster.mustHook(n1, V3, 'etcd-rollback')).toContain('nothing to roll back');
      // One at a time: enable must not wait for a quorum the later members provide.
      for (const n of masters) await cluster.mustHook(n, V3, 'etcd-enable');
      await Promise.all(masters.map((n) => cluster.mustHook(n, V3, 'health')));

      const list = await members(client(n2));
      expect(list.map((m) => m.name).sort()).toEqual(['node-1', 'node-2', 'node-3']);
      expect(await get(all(), '/demo/before')).toBe('v1-data');
      expect(await get(all(), '/demo/after-upgrade')).toBeUndefined();
      expect((await serviceHealth(n1.address)).etcd).toMatchObject({ version: '3.4.23', enabled: true, healthy: true });
    });

    it('stops every service and etcd member it started', async () => {
      for (const n of masters) await cluster.mustHook(n, V3, 'stop');
      for (const n of masters) {
        expect(await cluster.livePid(n, 'service')).toBeUndefined();
        expect(await cluster.livePid(n, 'etcd')).toBeUndefined();
      }
      expect(cluster.pids.size).toBeGreaterThanOrEqual(6);
      expect(await cluster.teardown()).toEqual([]);
    });
  });
});
