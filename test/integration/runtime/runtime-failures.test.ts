import { promises as fs } from 'node:fs';
import path from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeCluster, type FakeNode, serviceHealth } from './harness.js';

const BROKEN = '7.0.99';
const V1 = '7.0.35-11706';

/** The single line a failed hook prints. */
function failureLine(stderr: string): string {
  const lines = stderr.trim().split('\n');
  expect(lines).toHaveLength(1);
  return lines[0] as string;
}

describe('runtime package', () => {
  describe('when it cannot do its job', () => {
    let cluster: FakeCluster;
    let worker: FakeNode;
    let master: FakeNode;

    beforeAll(async () => {
      // The master is never started: only hooks that fail before touching etcd run on it.
      cluster = await FakeCluster.create('upgrade-demo', [
        { name: 'node-1', address: '127.0.2.5', role: 'master' },
        { name: 'node-4', address: '127.0.2.4', role: 'worker' },
      ]);
      master = cluster.node('node-1');
      worker = cluster.node('node-4');
      await cluster.unpack(worker, BROKEN);
      await cluster.unpack(worker, V1);
      await cluster.unpack(master, V1);
    });

    afterAll(async () => {
      await cluster?.teardown();
    });

    it('the broken runtime starts but its health hook fails within its own timeout', async () => {
      await cluster.mustHook(worker, BROKEN, 'install');
      await cluster.mustHook(worker, BROKEN, 'start');
      expect(await serviceHealth(worker.address)).toMatchObject({ status: 'starting', version: BROKEN, node: 'node-4' });

      const run = await cluster.hook(worker, BROKEN, 'health');
      // It gave up by itself, before the 5 s timeout the agent would enforce.
      expect(run.timedOut).toBe(false);
      expect(run.exitCode).toBe(1);
      expect(failureLine(run.stderr)).toMatch(
        /^runtime hook health failed: runtime 7\.0\.99 on node-4 is not healthy after \d+ s: the service at http:\/\/127\.0\.2\.4:7575\/health reports status "starting"$/,
      );
    });

    it('a good runtime replaces the broken one on start, and stop leaves nothing running', async () => {
      const brokenPid = await cluster.livePid(worker, 'service');
      await cluster.mustHook(worker, V1, 'start');
      await cluster.mustHook(worker, V1, 'health');
      expect(await cluster.livePid(worker, 'service')).not.toBe(brokenPid);
      expect(await cluster.runtimeFile(worker, 'previous')).toBe(BROKEN);
      await cluster.mustHook(worker, V1, 'stop');
      expect(await cluster.livePid(worker, 'service')).toBeUndefined();
    });

    it('refuses etcd hooks on a worker', async () => {
      const run = await cluster.hook(worker, V1, 'etcd-backup');
      expect(run.exitCode).toBe(1);
      expect(failureLine(run.stderr)).toBe(
        'runtime hook etcd-backup failed: etcd-backup: node-4 is a worker; only masters run an etcd member',
      );
    });

    it('says which step is missing when the etcd block runs out of order', async () => {
      let run = await cluster.hook(master, V1, 'etcd-restore');
      expect(failureLine(run.stderr)).toContain(
        `${path.join(master.stateDir, 'etcd', 'state.json')} does not exist; run the runtime "install" hook on node-1 first`,
      );

      await cluster.mustHook(master, V1, 'install');
      run = await cluster.hook(master, V1, 'etcd-restore');
      expect(run.exitCode).toBe(1);
      expect(failureLine(run.stderr)).toBe(
        `runtime hook etcd-restore failed: no etcd backup at ${path.join(master.stateDir, 'backup', 'etcd.snapshot')}; run etcd-backup on node-1 first`,
      );

      run = await cluster.hook(master, V1, 'etcd-backup');
      expect(failureLine(run.stderr)).toBe(
        'runtime hook etcd-backup failed: etcd member node-1 is not running, so there is nothing to back up from',
      );
    });

    it('rejects an unknown hook and a node without node.json', async () => {
      const dir = path.join(worker.stateDir, 'packages', 'unpacked', 'runtime', V1);
      const unknown = await execa(process.execPath, ['runtime.mjs', 'etcd-frobnicate'], {
        cwd: dir,
        env: { HOIST_STATE_DIR: worker.stateDir },
        reject: false,
      });
      expect(unknown.exitCode).toBe(1);
      expect(failureLine(unknown.stderr)).toMatch(
        /^runtime hook etcd-frobnicate failed: unknown hook "etcd-frobnicate"; known hooks: install, start, stop, health, etcd-backup, /,
      );

      await fs.rename(path.join(worker.stateDir, 'node.json'), path.join(worker.stateDir, 'node.json.away'));
      const run = await cluster.hook(worker, V1, 'stop');
      expect(failureLine(run.stderr)).toBe(
        `runtime hook stop failed: ${path.join(worker.stateDir, 'node.json')} does not exist; the node has not been set up`,
      );
      await fs.rename(path.join(worker.stateDir, 'node.json.away'), path.join(worker.stateDir, 'node.json'));
    });

    it('leaves no process behind after teardown', async () => {
      expect(cluster.pids.size).toBeGreaterThanOrEqual(2);
      expect(await cluster.teardown()).toEqual([]);
    });
  });
});
