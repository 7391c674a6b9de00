import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { expect, it } from 'vitest';
import { runCli } from '../../helpers/run-cli.js';

it('refuses a cluster state whose etcd is newer than the image (exit 3) and records nothing', { timeout: 30_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'hoist-etcd-'));
  try {
    const state = join(dir, 'state.yaml');
    writeFileSync(
      state,
      [
        'apiVersion: hoist/v1',
        'kind: ClusterState',
        `cluster: ${resolve('fixtures/clusters/demo-3-masters/cluster.yaml')}`,
        `installedImage: ${resolve('fixtures/images/upgrade-demo-1.0.0/app.yaml')}`,
        'leader: node-1',
        'etcdVersion: 3.5.9',
        '',
      ].join('\n'),
    );
    const stateDir = join(dir, 'store');
    for (const args of [
      ['upgrade', '--dry-run'],
      ['upgrade', '--manual'],
    ]) {
      const r = await runCli([...args, '--state', state, 'fixtures/images/upgrade-demo-2.0.0'], { stateDir });
      expect(r.code, args.join(' ')).toBe(3);
      expect(r.stderr).toContain('error[ERR_ETCD_DOWNGRADE]: image 2.0.0 has etcd 3.4.23, older than the running etcd 3.5.9');
    }
    expect(readdirSync(dir)).toEqual(['state.yaml']);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
