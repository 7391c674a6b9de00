import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadClusterState, loadImageManifest, loadInventory, resolveImageArg } from '../../../src/config/load.js';
import { fixture } from './helpers.js';

// The shapes exactly as the upgrade issue writes them.
const ISSUE_CLUSTER = `apiVersion: hoist/v1
kind: Cluster
metadata: { name: upgrade-demo }
spec:
  nodeStateDir: /var/lib/hoist            # default
  ssh: { user: root, port: 22, identityFile: ~/.ssh/id_ed25519 }
  nodes:
    - { name: node-1, address: 127.10.0.6, role: master }
    - { name: node-2, address: 127.10.0.15, role: master }
    - { name: node-3, address: 127.10.0.8, role: master, ssh: { port: 2222 } }
`;
const ISSUE_APP = `apiVersion: hoist/v1
kind: ClusterImage
metadata: { name: upgrade-demo, version: 2.0.0 }
spec:
  upgradeFrom: ">=1.0.0"                  # semver range of installed versions allowed
  runtime: { package: "runtime:7.0.56-11709", etcdVersion: 3.4.23 }
  systemApps: ["rbac-app:7.0.30", "dns-app:7.0.3", "logging-app:6.0.8", "monitoring-app:7.0.8",
               "tiller-app:7.0.2", "site:7.0.30", "kubernetes:7.0.30"]
  appDependencies: []                     # other apps updated under /app before the app itself
  hooks: { preUpdate: hooks/pre-update.yaml, postUpdate: hooks/post-update.yaml }
  requirements: { minDiskWriteMBps: 10, maxTimeDriftMs: 300, minFreeStateDirBytes: 1073741824 }
`;
const ISSUE_STATE = `apiVersion: hoist/v1
kind: ClusterState
cluster: cluster.yaml                     # inventory, relative to this file (or inline)
installedImage: images/upgrade-demo-1.0.0/app.yaml
leader: node-1                            # lead master; default the first master
etcdVersion: 3.4.23                       # optional; default from the installed image
nodes:                                    # optional per-node facts that differ from the installed image
  node-3: { runtime: "runtime:7.0.56-11709" }
`;

const V2_APPS = [
  'rbac-app:7.0.30',
  'dns-app:7.0.3',
  'logging-app:6.0.8',
  'monitoring-app:7.0.8',
  'tiller-app:7.0.2',
  'site:7.0.30',
  'kubernetes:7.0.30',
];

describe('config', () => {
  describe('the issue shapes', () => {
    let dir: string;
    beforeAll(async () => {
      dir = await mkdtemp(join(tmpdir(), 'hoist-issue-'));
      await mkdir(join(dir, 'images/upgrade-demo-1.0.0'), { recursive: true });
      await writeFile(join(dir, 'cluster.yaml'), ISSUE_CLUSTER);
      await writeFile(join(dir, 'app.yaml'), ISSUE_APP);
      await writeFile(join(dir, 'state.yaml'), ISSUE_STATE);
      await writeFile(
        join(dir, 'images/upgrade-demo-1.0.0/app.yaml'),
        ISSUE_APP.replace('version: 2.0.0', 'version: 1.0.0').replace('runtime:7.0.56-11709', 'runtime:7.0.35-11706'),
      );
    });
    afterAll(() => rm(dir, { recursive: true, force: true }));

    it('loads cluster.yaml with defaults, per-node overrides and ~ expanded', async () => {
      const { file, config } = await loadInventory(join(dir, 'cluster.yaml'));
      expect(file).toBe(join(dir, 'cluster.yaml'));
      expect(config.metadata.name).toBe('upgrade-demo');
      expect(config.spec.nodeStateDir).toBe('/var/lib/hoist');
      expect(config.spec.ssh).toEqual({ user: 'root', port: 22, identityFile: join(homedir(), '.ssh/id_ed25519') });
      expect(config.spec.nodes).toEqual([
        { name: 'node-1', address: '127.10.0.6', role: 'master' },
        { name: 'node-2', address: '127.10.0.15', role: 'master' },
        { name: 'node-3', address: '127.10.0.8', role: 'master', ssh: { port: 2222 } },
      ]);
    });

    it('resolves relative key paths from the inventory folder and ~ from the home directory', async () => {
      const file = join(dir, 'keys-cluster.yaml');
      await writeFile(
        file,
        ISSUE_CLUSTER.replace(
          'ssh: { port: 2222 }',
          'ssh: { identityFile: keys/node-3, knownHostsFile: /etc/hoist/known_hosts, bastion: { address: 127.0.0.9, identityFile: ~/jump } }',
        ),
      );
      const { config } = await loadInventory(file);
      expect(config.spec.nodes[2]?.ssh).toEqual({
        identityFile: join(dir, 'keys/node-3'),
        knownHostsFile: '/etc/hoist/known_hosts',
        bastion: { address: '127.0.0.9', port: 22, identityFile: join(homedir(), 'jump') },
      });
    });

    it('loads app.yaml', async () => {
      const manifest = await loadImageManifest(join(dir, 'app.yaml'));
      expect(manifest).toEqual({
        apiVersion: 'hoist/v1',
        kind: 'ClusterImage',
        metadata: { name: 'upgrade-demo', version: '2.0.0' },
        spec: {
          upgradeFrom: '>=1.0.0',
          runtime: { package: 'runtime:7.0.56-11709', etcdVersion: '3.4.23' },
          upgradeVia: [],
          nodeActions: { preUpgrade: [], postUpgrade: [] },
          systemApps: V2_APPS,
          appDependencies: [],
          hooks: { preUpdate: 'hooks/pre-update.yaml', postUpdate: 'hooks/post-update.yaml' },
          requirements: { minDiskWriteMBps: 10, maxTimeDriftMs: 300, minFreeStateDirBytes: 1073741824 },
        },
      });
    });

    it('loads the cluster state, resolving cluster and installedImage from its folder', async () => {
      const state = await loadClusterState(join(dir, 'state.yaml'));
      expect(state.inventory.file).toBe(join(dir, 'cluster.yaml'));
      expect(state.installed.source).toEqual({ kind: 'manifest', path: join(dir, 'images/upgrade-demo-1.0.0/app.yaml') });
      expect(state.installed.manifest.metadata.version).toBe('1.0.0');
      expect(state.leader).toBe('node-1');
      expect(state.etcdVersion).toBe('3.4.23');
      expect(state.nodes).toEqual({ 'node-3': { runtime: 'runtime:7.0.56-11709' } });
    });

    it('accepts an inline inventory and defaults the leader to the first master', async () => {
      const inline = ISSUE_CLUSTER.split('\n')
        .filter((l) => l !== '')
        .map((l) => `  ${l}`)
        .join('\n');
      const file = join(dir, 'inline-state.yaml');
      await writeFile(
        file,
        `apiVersion: hoist/v1\nkind: ClusterState\ncluster:\n${inline}\ninstalledImage: images/upgrade-demo-1.0.0/app.yaml\n`,
      );
      const state = await loadClusterState(file);
      expect(state.inventory.file).toBe(file);
      expect(state.inventory.config.spec.nodes.map((n) => n.name)).toEqual(['node-1', 'node-2', 'node-3']);
      expect(state.leader).toBe('node-1');
      expect(state.etcdVersion).toBeUndefined();
      expect(state.nodes).toEqual({});
    });
  });

  describe('fixtures', () => {
    it.each([
      ['1.0.0', 'runtime:7.0.35-11706', '3.4.23', '>=0.0.0'],
      ['2.0.0', 'runtime:7.0.56-11709', '3.4.23', '>=1.0.0'],
      ['2.0.1', 'runtime:7.0.56-11709', '3.4.23', '>=2.0.0'],
      ['2.1.0', 'runtime:7.0.57-11710', '3.5.0', '>=2.0.0'],
    ])('loads image upgrade-demo-%s as a directory', async (version, runtime, etcd, range) => {
      const dir = fixture(`images/upgrade-demo-${version}`);
      const image = await resolveImageArg(dir);
      expect(image.source).toEqual({ kind: 'directory', path: dir });
      expect(image.manifestFile).toBe(join(dir, 'app.yaml'));
      expect(image.manifest.metadata).toEqual({ name: 'upgrade-demo', version });
      expect(image.manifest.spec.runtime).toEqual({ package: runtime, etcdVersion: etcd });
      expect(image.manifest.spec.upgradeFrom).toBe(range);
      expect(image.manifest.spec.systemApps).toHaveLength(7);
    });

    it('keeps 2.0.1 an app-only change of 2.0.0', async () => {
      const a = await loadImageManifest(fixture('images/upgrade-demo-2.0.0/app.yaml'));
      const b = await loadImageManifest(fixture('images/upgrade-demo-2.0.1/app.yaml'));
      expect(b.spec.runtime).toEqual(a.spec.runtime);
      expect(b.spec.systemApps).toEqual(a.spec.systemApps);
      expect(b.spec.systemApps).toEqual(V2_APPS);
    });

    it.each([
      ['demo-3-masters', '1.0.0', ['master', 'master', 'master'], {}],
      ['1-master-2-workers', '1.0.0', ['master', 'worker', 'worker'], {}],
      ['single-master', '1.0.0', ['master'], {}],
      ['partly-upgraded', '1.0.0', ['master', 'master', 'master'], { 'node-3': { runtime: 'runtime:7.0.56-11709' } }],
      ['installed-2.0.0', '2.0.0', ['master', 'master', 'master'], {}],
    ])('loads cluster %s with its state', async (name, installed, roles, nodes) => {
      const state = await loadClusterState(fixture(`clusters/${name}/state.yaml`));
      expect(state.inventory.file).toBe(fixture(`clusters/${name}/cluster.yaml`));
      expect(state.inventory.config.spec.nodes.map((n) => n.role)).toEqual(roles);
      expect(state.inventory.config.spec.nodes.map((n) => n.address)).toEqual(
        ['127.0.0.2', '127.0.0.3', '127.0.0.4'].slice(0, roles.length),
      );
      expect(state.installed.manifest.metadata.version).toBe(installed);
      expect(state.leader).toBe('node-1');
      expect(state.nodes).toEqual(nodes);
    });
  });
});
