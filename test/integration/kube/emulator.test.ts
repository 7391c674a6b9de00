/** The Kubernetes API emulator driven by the real kubectl. */

import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jobManifest, type KubeFixture, startFixture, until } from './helpers.js';

let f: KubeFixture;
beforeAll(async () => {
  f = await startFixture();
});
afterAll(async () => {
  await f?.stop();
});

async function ok(args: string[], input?: string): Promise<string> {
  const r = await f.kubectl(args, input !== undefined ? { input } : {});
  if (r.exitCode !== 0) throw new Error(`kubectl ${args.join(' ')} exited ${r.exitCode}: ${r.stderr}`);
  return r.stdout;
}

async function json<T = any>(args: string[]): Promise<T> {
  return JSON.parse(await ok([...args, '-o', 'json'])) as T;
}

describe('kube emulator', () => {
  describe('nodes', () => {
    it('lists the seeded nodes with hostname, role and advertise-ip labels', async () => {
      const list = await json(['get', 'nodes']);
      expect(list.items.map((n: any) => n.metadata.name)).toEqual(['node-1', 'node-2', 'node-3']);
      const [n1, , n3] = list.items;
      expect(n1.metadata.labels).toMatchObject({
        'kubernetes.io/hostname': 'node-1',
        'node-role.kubernetes.io/master': '',
        'hoist/advertise-ip': '127.0.0.2',
      });
      expect(n3.metadata.labels['node-role.kubernetes.io/master']).toBeUndefined();
    });

    it('cordons and uncordons a node', async () => {
      expect(await ok(['cordon', 'node-2'])).toContain('node/node-2 cordoned');
      expect((await json(['get', 'node', 'node-2'])).spec.unschedulable).toBe(true);
      expect(await ok(['uncordon', 'node-2'])).toContain('node/node-2 uncordoned');
      expect((await json(['get', 'node', 'node-2'])).spec.unschedulable).toBeUndefined();
    });

    it('taints and untaints a node; removing an absent taint fails as in Kubernetes', async () => {
      await ok(['taint', 'nodes', 'node-2', 'hoist/runlevel=system:NoExecute']);
      expect((await json(['get', 'node', 'node-2'])).spec.taints).toEqual([
        { key: 'hoist/runlevel', value: 'system', effect: 'NoExecute' },
      ]);
      await ok(['taint', 'nodes', 'node-2', 'hoist/runlevel:NoExecute-']);
      expect((await json(['get', 'node', 'node-2'])).spec.taints).toBeUndefined();
      const again = await f.kubectl(['taint', 'nodes', 'node-2', 'hoist/runlevel:NoExecute-']);
      expect(again.exitCode).not.toBe(0);
      expect(again.stderr).toContain('not found');
    });

    it('labels a node with --overwrite', async () => {
      await ok(['label', 'nodes', 'node-2', 'tier=blue']);
      await ok(['label', 'nodes', 'node-2', 'tier=green', '--overwrite']);
      expect((await json(['get', 'node', 'node-2'])).metadata.labels.tier).toBe('green');
    });
  });

  describe('pods and drain', () => {
    it('lists pods in all namespaces, including one DaemonSet pod per node and guarded-1', async () => {
      const pods = (await json(['get', 'pods', '-A'])).items.map((p: any) => `${p.metadata.namespace}/${p.metadata.name}`);
      expect(pods).toEqual(
        expect.arrayContaining(['kube-system/log-forwarder-node-1', 'kube-system/log-forwarder-node-3', 'default/guarded-1']),
      );
    });

    it('drains a node without budgeted pods, leaving its DaemonSet pod', async () => {
      const out = await f.kubectl(['drain', 'node-1', '--ignore-daemonsets', '--delete-emptydir-data', '--force', '--timeout=60s']);
      expect(out.exitCode).toBe(0);
      expect(out.stdout).toContain('node/node-1 drained');
      const left = (await json(['get', 'pods', '-A', '--field-selector', 'spec.nodeName=node-1'])).items.map((p: any) => p.metadata.name);
      expect(left).toEqual(['log-forwarder-node-1']);
      expect((await json(['get', 'node', 'node-1'])).spec.unschedulable).toBe(true);
      expect(f.emulator.state.evictions.refused).toEqual([]);
    });

    it('refuses to evict guarded-1 with 429 until its budget is released, then drains', async () => {
      expect((await json(['get', 'pdb', 'guarded-pdb'])).status.disruptionsAllowed).toBe(0);
      const drain = execa(
        'kubectl',
        [
          '--kubeconfig',
          f.kubeconfig,
          '--cache-dir',
          `${f.dir}/cache`,
          'drain',
          'node-3',
          '--ignore-daemonsets',
          '--delete-emptydir-data',
          '--force',
          '--timeout=90s',
        ],
        { reject: false },
      );
      await until(() => f.emulator.state.evictions.refused.includes('default/guarded-1'));
      expect(f.emulator.state.get('Pod', 'default', 'guarded-1')).toBeDefined();
      // Release through the API, as an operator would: relax the budget.
      await ok(['patch', 'pdb', 'guarded-pdb', '--type=merge', '-p', '{"spec":{"minAvailable":null,"maxUnavailable":1}}']);
      const result = await drain;
      expect(result.exitCode).toBe(0);
      expect(String(result.stderr)).toContain(`error when evicting pods/"guarded-1" -n "default"`);
      expect(String(result.stdout)).toContain('pod/guarded-1 evicted');
      expect((await f.kubectl(['get', 'pod', 'guarded-1'])).stderr).toContain('NotFound');
      expect(f.emulator.state.evictions.evicted).toContain('default/guarded-1');
    });
  });

  describe('jobs', () => {
    it('runs a job to completion and serves its pod log', async () => {
      await ok(
        ['create', '-f', '-', '--validate=false'],
        jobManifest('upgrade', { 'sandbox.hoist/log': 'helm upgrade example\nrelease "example" upgraded' }),
      );
      expect(await ok(['wait', '--for=condition=complete', 'job/upgrade', '--timeout=60s'])).toContain('condition met');
      const pods = (await json(['get', 'pods', '-l', 'job-name=upgrade'])).items;
      expect(pods).toHaveLength(1);
      expect(pods[0].status.phase).toBe('Succeeded');
      expect(await ok(['logs', pods[0].metadata.name])).toBe('helm upgrade example\nrelease "example" upgraded');
      expect(await ok(['logs', 'job/upgrade'])).toContain('release "example" upgraded');
    });

    it('fails a job whose annotation asks for it', async () => {
      await ok(
        ['create', '-f', '-', '--validate=false'],
        jobManifest('broken', { 'sandbox.hoist/outcome': 'Failed', 'sandbox.hoist/log': 'Error: UPGRADE FAILED' }),
      );
      expect(await ok(['wait', '--for=condition=failed', 'job/broken', '--timeout=60s'])).toContain('condition met');
      const job = await json(['get', 'job', 'broken']);
      expect(job.status.failed).toBe(1);
      expect(job.status.succeeded).toBeUndefined();
      expect(await ok(['logs', 'job/broken'])).toContain('UPGRADE FAILED');
    });

    it('deletes a job together with its pod', async () => {
      await ok(['delete', 'job', 'upgrade']);
      expect((await json(['get', 'pods', '-l', 'job-name=upgrade'])).items).toEqual([]);
    });
  });

  describe('other resources', () => {
    it('has no CoreDNS objects until they are created, and reports AlreadyExists after', async () => {
      expect((await f.kubectl(['get', 'configmap', 'coredns', '-n', 'kube-system'])).stderr).toContain('NotFound');
      const cm = JSON.stringify({
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: { name: 'coredns', namespace: 'kube-system' },
        data: { Corefile: '.:53 {}' },
      });
      await ok(['create', '-f', '-', '--validate=false'], cm);
      const again = await f.kubectl(['create', '-f', '-', '--validate=false'], { input: cm });
      expect(again.exitCode).not.toBe(0);
      expect(again.stderr).toContain('AlreadyExists');
    });

    it('serves ready kube-dns and gravity-site endpoints', async () => {
      for (const selector of ['k8s-app=kube-dns', 'app=gravity-site']) {
        const eps = (await json(['get', 'endpoints', '-n', 'kube-system', '-l', selector])).items;
        expect(eps).toHaveLength(1);
        expect(eps[0].subsets[0].addresses.length).toBeGreaterThan(0);
      }
    });

    it('applies resources: creates, then configures them', async () => {
      const doc = (v: string): string =>
        `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: app-config\n  namespace: default\ndata:\n  version: "${v}"\n`;
      expect(await ok(['apply', '-f', '-', '--validate=false'], doc('1'))).toContain('configmap/app-config created');
      expect(await ok(['apply', '-f', '-', '--validate=false'], doc('2'))).toContain('configmap/app-config configured');
      expect((await json(['get', 'configmap', 'app-config'])).data).toEqual({ version: '2' });
    });

    it('answers unknown objects with a NotFound Status', async () => {
      const r = await f.kubectl(['get', 'clusterrole', 'no-such-role']);
      expect(r.exitCode).not.toBe(0);
      expect(r.stderr).toContain('clusterroles.rbac.authorization.k8s.io "no-such-role" not found');
    });
  });

  describe('budget released by time', () => {
    it('frees the budget pdbReleaseMs after its first refusal, so drain finishes on its own', async () => {
      const g = await startFixture({ pdbReleaseMs: 500 });
      try {
        const r = await g.kubectl(['drain', 'node-3', '--ignore-daemonsets', '--delete-emptydir-data', '--force', '--timeout=90s']);
        expect(r.exitCode).toBe(0);
        expect(g.emulator.state.evictions.refused).toContain('default/guarded-1');
        expect(g.emulator.state.get('Pod', 'default', 'guarded-1')).toBeUndefined();
        expect(g.emulator.state.get('PodDisruptionBudget', 'default', 'guarded-pdb')!.spec).toMatchObject({ maxUnavailable: 1 });
      } finally {
        await g.stop();
      }
    });
  });
});
