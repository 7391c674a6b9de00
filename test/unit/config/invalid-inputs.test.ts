import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadClusterState, loadImageManifest, loadInventory } from '../../../src/config/load.js';
import { fixture, inputError } from './helpers.js';

const INVENTORY_HINT = 'fix the listed fields of the inventory (cluster.yaml) and run the command again';

describe('config', () => {
  describe('invalid inventories', () => {
    it('names the file, line and path of a wrong role', async () => {
      const file = fixture('invalid/wrong-role.cluster.yaml');
      const err = await inputError(loadInventory(file));
      expect(err.code).toBe('ERR_INPUT_INVALID');
      expect(err.message).toBe(`${file}: 1 problem`);
      expect(err.hint).toBe(INVENTORY_HINT);
      expect(err.details).toEqual([`${file}:8: spec.nodes.2.role: expected "master" or "worker", got "leader"`]);
    });

    it('reports duplicate node names and duplicate address+port, allowing a shared address on another port', async () => {
      const file = fixture('invalid/duplicate-node.cluster.yaml');
      const err = await inputError(loadInventory(file));
      expect(err.message).toBe(`${file}: 2 problems`);
      expect(err.details).toEqual([
        `${file}:8: spec.nodes.2.name: duplicate node name "node-1" (also spec.nodes.0)`,
        `${file}:9: spec.nodes.3.address: address 127.0.0.3 port 22 is already used by node node-2 (spec.nodes.1); expected a unique address and SSH port`,
      ]);
    });

    it('names every unknown key and the keys allowed there', async () => {
      const file = fixture('invalid/unknown-key.cluster.yaml');
      const err = await inputError(loadInventory(file));
      expect(err.details).toEqual([
        `${file}:5: metadata.labels: unknown key (expected one of: name)`,
        `${file}:9: spec.ssh.identity_file: unknown key (expected one of: user, port, identityFile, knownHostsFile, bastion)`,
        `${file}:14: spec.nodes.0.sshPort: unknown key (expected one of: name, address, role, nodeStateDir, ssh)`,
      ]);
    });

    it('reports a YAML syntax error with its line', async () => {
      const file = fixture('invalid/bad-yaml.cluster.yaml');
      const err = await inputError(loadInventory(file));
      expect(err.code).toBe('ERR_INPUT_INVALID');
      expect(err.details).toEqual([`${file}:7: invalid YAML: Flow map in block collection must be sufficiently indented and end with a }`]);
    });

    it('treats a repeated YAML key as a syntax error', async () => {
      const file = fixture('invalid/duplicate-key.cluster.yaml');
      const err = await inputError(loadInventory(file));
      expect(err.details).toEqual([`${file}:7: invalid YAML: Map keys must be unique`]);
    });

    it('requires at least one master', async () => {
      const file = fixture('invalid/no-master.cluster.yaml');
      const err = await inputError(loadInventory(file));
      expect(err.details).toEqual([`${file}:5: spec.nodes: expected at least one node with role master`]);
    });

    it('collects every field problem of a file in one error, in file order', async () => {
      const file = fixture('invalid/bad-fields.cluster.yaml');
      const err = await inputError(loadInventory(file));
      expect(err.message).toBe(`${file}: 10 problems`);
      expect(err.details).toEqual([
        `${file}: kind: required: expected "Cluster"`,
        `${file}:1: apiVersion: expected "hoist/v1", got "hoist/v2"`,
        `${file}:2: metadata.name: required: expected a DNS name (lowercase letters, digits, "-" and ".")`,
        `${file}:4: spec.nodeStateDir: expected an absolute path, got "var/lib/hoist"`,
        `${file}:5: spec.ssh.port: expected a TCP port (an integer from 1 to 65535), got "22"`,
        `${file}:5: spec.ssh.bastion.port: expected a TCP port (an integer from 1 to 65535), got 70000`,
        `${file}:7: spec.nodes.0.name: expected a DNS label (lowercase letters, digits and "-", at most 63 characters), got "Node_1"`,
        `${file}:7: spec.nodes.0.address: expected an IPv4 address or a hostname, got "300.1.1.1"`,
        `${file}:8: spec.nodes.1.address: expected an IPv4 address or a hostname, got "-bad-"`,
        `${file}:9: spec.nodes.2.address: required: expected an IPv4 address or a hostname`,
      ]);
    });

    it('rejects an empty document', async () => {
      const file = fixture('invalid/empty.yaml');
      const err = await inputError(loadInventory(file));
      expect(err.details).toEqual([`${file}: the document is empty; expected a mapping`]);
    });

    it('reports a missing file as ERR_INPUT_NOT_FOUND naming the path', async () => {
      const file = fixture('invalid/no-such-cluster.yaml');
      const err = await inputError(loadInventory(file));
      expect(err.code).toBe('ERR_INPUT_NOT_FOUND');
      expect(err.message).toBe(`${file}: inventory not found`);
    });
  });

  describe('invalid image manifests', () => {
    it('checks versions, locators, ranges, hook paths and requirements', async () => {
      const file = fixture('invalid/bad-version.app.yaml');
      const err = await inputError(loadImageManifest(file));
      expect(err.message).toBe(`${file}: 12 problems`);
      expect(err.hint).toBe('fix the listed fields of the image manifest (app.yaml) and rebuild the image');
      expect(err.details).toEqual([
        `${file}:3: metadata.version: expected a semver version like 2.0.0, got 2`,
        `${file}:5: spec.upgradeFrom: expected a semver range like ">=1.0.0", got "from one"`,
        `${file}:6: spec.runtime.package: expected a package locator name:version like runtime:7.0.56-11709, got "runtime:latest"`,
        `${file}:6: spec.runtime.etcdVersion: expected a semver version like 2.0.0, got "v3.4.23"`,
        `${file}:7: spec.systemApps.1: expected an app locator name:version like dns-app:7.0.3, got "dns-app"`,
        `${file}:7: spec.systemApps.2: expected an app locator name:version like dns-app:7.0.3, got "site:7.0"`,
        `${file}:8: spec.appDependencies.0: expected an app locator name:version like dns-app:7.0.3, got 42`,
        `${file}:9: spec.hooks.preUpdate: expected a path inside the image, relative to app.yaml, got "/etc/passwd"`,
        `${file}:9: spec.hooks.postUpdate: expected a path inside the image, relative to app.yaml, got "../outside.yaml"`,
        `${file}:9: spec.hooks.onInstall: unknown key (expected one of: preUpdate, postUpdate, update, rollback)`,
        `${file}:10: spec.requirements.minDiskWriteMBps: expected a positive number, got 0`,
        `${file}:10: spec.requirements.maxTimeDriftMs: expected a whole number >= 0, got 1.5`,
      ]);
    });
  });

  describe('invalid cluster states', () => {
    const STATE_HINT = 'fix the listed fields of the cluster state file and run the command again';

    it('requires the leader to be a master and nodes: keys to be inventory nodes', async () => {
      const file = fixture('invalid/bad-state-refs/worker-leader.state.yaml');
      const err = await inputError(loadClusterState(file));
      expect(err.hint).toBe(STATE_HINT);
      expect(err.details).toEqual([
        `${file}:5: leader: node node-2 is a worker; expected a master`,
        `${file}:8: nodes.node-7: node "node-7" is not in the inventory; expected one of: node-1, node-2, node-3`,
      ]);
    });

    it('requires the leader to exist', async () => {
      const file = fixture('invalid/bad-state-refs/unknown-leader.state.yaml');
      const err = await inputError(loadClusterState(file));
      expect(err.details).toEqual([`${file}:5: leader: node "node-9" is not in the inventory; expected one of: node-1`]);
    });

    it('reports problems of an inline inventory under cluster. with the other state problems', async () => {
      const file = fixture('invalid/bad-state-refs/inline-cluster.state.yaml');
      const err = await inputError(loadClusterState(file));
      expect(err.details).toEqual([
        `${file}:10: cluster.spec.nodes.1.role: expected "master" or "worker", got "manager"`,
        `${file}:12: etcdVersion: expected a semver version like 2.0.0, got 3.4`,
        `${file}:13: nodes: expected a mapping of node name to facts, got a list`,
        `${file}:14: extra: unknown key (expected one of: apiVersion, kind, cluster, installedImage, leader, etcdVersion, nodes)`,
      ]);
    });

    it('checks the cluster reference type and per-node facts', async () => {
      const file = fixture('invalid/bad-state-refs/bad-fields.state.yaml');
      const err = await inputError(loadClusterState(file));
      expect(err.details).toEqual([
        `${file}:3: cluster: expected a path to cluster.yaml or an inline Cluster document, got 42`,
        `${file}:6: nodes.node-1.runtime: expected a package locator name:version like runtime:7.0.56-11709, got "7.0.56"`,
        `${file}:6: nodes.node-1.etcd: unknown key (expected one of: runtime, os)`,
      ]);
    });

    it('names the missing installed image and the state line that refers to it', async () => {
      const file = fixture('invalid/bad-state-refs/missing-image.state.yaml');
      const err = await inputError(loadClusterState(file));
      expect(err.code).toBe('ERR_INPUT_NOT_FOUND');
      expect(err.message).toBe(`${fixture('images/upgrade-demo-0.9.0/app.yaml')}: image not found`);
      expect(err.details).toEqual([`${file}:4: installedImage: refers to a missing file`]);
    });

    it('names the missing inventory and the state line that refers to it', async () => {
      const file = fixture('invalid/bad-state-refs/missing-cluster.state.yaml');
      const err = await inputError(loadClusterState(file));
      expect(err.code).toBe('ERR_INPUT_NOT_FOUND');
      expect(err.message).toBe(`${fixture('invalid/nowhere/cluster.yaml')}: inventory not found`);
      expect(err.details).toEqual([`${file}:3: cluster: refers to a missing file`]);
    });

    it('reports problems of a referenced inventory against that file', async () => {
      const dir = fixture('invalid');
      const tmp = await mkdtemp(join(tmpdir(), 'hoist-config-'));
      try {
        const state = join(tmp, 'state.yaml');
        await writeFile(
          state,
          `apiVersion: hoist/v1\nkind: ClusterState\ncluster: ${dir}/wrong-role.cluster.yaml\ninstalledImage: ${fixture('images/upgrade-demo-1.0.0')}\n`,
        );
        const err = await inputError(loadClusterState(state));
        expect(err.details).toEqual([`${dir}/wrong-role.cluster.yaml:8: spec.nodes.2.role: expected "master" or "worker", got "leader"`]);
      } finally {
        await rm(tmp, { recursive: true, force: true });
      }
    });
  });
});
