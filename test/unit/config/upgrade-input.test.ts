import { describe, expect, it } from 'vitest';
import { loadClusterState, loadImageManifest, loadInventory } from '../../../src/config/load.js';
import { nodeSettings } from '../../../src/config/node-settings.js';
import { expandHome, resolveFrom } from '../../../src/config/paths.js';
import { ClusterSchema } from '../../../src/config/schema.js';
import { clusterStateToInput, toImageFacts } from '../../../src/config/upgrade-input.js';
import { fixture } from './helpers.js';

const OPTIONS = { operationId: 'op-1', createdAt: '2024-01-02T03:04:05.000Z' };

describe('config', () => {
  describe('toImageFacts', () => {
    it('keeps what shapes a plan', async () => {
      const facts = toImageFacts(await loadImageManifest(fixture('images/upgrade-demo-2.1.0/app.yaml')));
      expect(facts).toEqual({
        name: 'upgrade-demo',
        version: '2.1.0',
        upgradeFrom: '>=2.0.0',
        runtime: 'runtime:7.0.57-11710',
        etcdVersion: '3.5.0',
        systemApps: [
          'rbac-app:7.0.30',
          'dns-app:7.0.3',
          'logging-app:6.0.8',
          'monitoring-app:7.0.8',
          'tiller-app:7.0.2',
          'site:7.0.30',
          'kubernetes:7.0.30',
        ],
        appDependencies: [],
        requirements: { minDiskWriteMBps: 10, maxTimeDriftMs: 300, minFreeStateDirBytes: 1073741824 },
      });
    });
  });

  describe('clusterStateToInput', () => {
    it('builds an UpgradeInput with per-node runtime overrides, leader and etcd version', async () => {
      const state = await loadClusterState(fixture('clusters/partly-upgraded/state.yaml'));
      const target = await loadImageManifest(fixture('images/upgrade-demo-2.0.0/app.yaml'));
      const input = clusterStateToInput(state, target, { ...OPTIONS, parallel: 2, maxUnavailableWorkers: '25%' });
      expect(input).toEqual({
        operationId: 'op-1',
        createdAt: '2024-01-02T03:04:05.000Z',
        cluster: 'upgrade-demo',
        nodes: [
          { name: 'node-1', address: '127.0.0.2', role: 'master' },
          { name: 'node-2', address: '127.0.0.3', role: 'master' },
          { name: 'node-3', address: '127.0.0.4', role: 'master', runtime: 'runtime:7.0.56-11709' },
        ],
        leader: 'node-1',
        installed: toImageFacts(state.installed.manifest),
        target: toImageFacts(target),
        etcdVersion: '3.4.23',
        parallel: 2,
        maxUnavailableWorkers: '25%',
      });
    });

    it('defaults etcd to the installed image and drops node runtimes equal to the installed one', async () => {
      const state = await loadClusterState(fixture('clusters/installed-2.0.0/state.yaml'));
      const withSame = { ...state, etcdVersion: undefined, nodes: { 'node-2': { runtime: 'runtime:7.0.56-11709' } } };
      const input = clusterStateToInput(withSame, await loadImageManifest(fixture('images/upgrade-demo-2.1.0/app.yaml')), OPTIONS);
      expect(input.etcdVersion).toBe('3.4.23');
      expect(input.nodes.every((n) => n.runtime === undefined)).toBe(true);
      expect(input.installed.version).toBe('2.0.0');
      expect(input.target.version).toBe('2.1.0');
      expect('parallel' in input).toBe(false);
    });
  });

  describe('nodeSettings', () => {
    it('lays node overrides over cluster SSH settings', () => {
      const config = ClusterSchema.parse({
        apiVersion: 'hoist/v1',
        kind: 'Cluster',
        metadata: { name: 'demo' },
        spec: {
          ssh: { identityFile: '/keys/id', bastion: { address: 'jump.example.com' } },
          nodes: [
            { name: 'node-1', address: '127.0.0.2', role: 'master' },
            {
              name: 'node-2',
              address: '127.0.0.3',
              role: 'worker',
              nodeStateDir: '/srv/hoist',
              ssh: { user: 'ops', port: 2222, bastion: { address: '127.0.0.9', port: 2200 } },
            },
          ],
        },
      });
      const [first, second] = config.spec.nodes;
      expect(nodeSettings(config, first!)).toEqual({
        name: 'node-1',
        address: '127.0.0.2',
        role: 'master',
        nodeStateDir: '/var/lib/hoist',
        ssh: { user: 'root', port: 22, identityFile: '/keys/id', bastion: { address: 'jump.example.com', port: 22 } },
      });
      expect(nodeSettings(config, second!)).toEqual({
        name: 'node-2',
        address: '127.0.0.3',
        role: 'worker',
        nodeStateDir: '/srv/hoist',
        ssh: { user: 'ops', port: 2222, identityFile: '/keys/id', bastion: { address: '127.0.0.9', port: 2200 } },
      });
    });

    it('resolves relative and ~ key paths of a loaded inventory', async () => {
      const { config } = await loadInventory(fixture('clusters/single-master/cluster.yaml'));
      expect(config.spec.ssh).toEqual({ user: 'root', port: 22 });
      expect(expandHome('~/.ssh/id', '/home/op')).toBe('/home/op/.ssh/id');
      expect(expandHome('~', '/home/op')).toBe('/home/op');
      expect(expandHome('~other/id', '/home/op')).toBe('~other/id');
      expect(resolveFrom('/etc/hoist', 'keys/id', '/home/op')).toBe('/etc/hoist/keys/id');
      expect(resolveFrom('/etc/hoist', '~/id', '/home/op')).toBe('/home/op/id');
    });
  });
});
