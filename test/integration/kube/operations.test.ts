/** hoist's Kubernetes operations (src/kube) against the emulator through the local kubectl runner. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  applyResources,
  cordon,
  defaultEndpointTargets,
  drain,
  ensureCoreDns,
  grantKubeletPermissions,
  HookJobError,
  KubeError,
  type LocalKubectlRunner,
  labelNode,
  localKubectlRunner,
  revokeKubeletPermissions,
  runHookJob,
  taintNode,
  uncordon,
  untaintNode,
  waitEndpoints,
} from '../../../src/kube/index.js';
import { GUARDED_BUDGET } from '../../../src/sandbox/kube/index.js';
import { jobManifest, type KubeFixture, startFixture, until } from './helpers.js';

let f: KubeFixture;
let runner: LocalKubectlRunner;
beforeAll(async () => {
  f = await startFixture();
  runner = localKubectlRunner({ kubeconfig: f.kubeconfig });
});
afterAll(async () => {
  runner?.close();
  await f?.stop();
});

const node = (name: string) => f.emulator.state.get('Node', undefined, name)!;

describe('kube operations', () => {
  describe('nodes', () => {
    it('cordons and uncordons', async () => {
      await cordon(runner, 'node-2');
      expect(node('node-2').spec.unschedulable).toBe(true);
      await uncordon(runner, 'node-2');
      expect(node('node-2').spec.unschedulable).toBeUndefined();
    });

    it('taints with hoist/runlevel=system:NoExecute and untaints, twice without error', async () => {
      await taintNode(runner, 'node-2');
      await taintNode(runner, 'node-2');
      expect(node('node-2').spec.taints).toEqual([{ key: 'hoist/runlevel', value: 'system', effect: 'NoExecute' }]);
      await untaintNode(runner, 'node-2');
      await untaintNode(runner, 'node-2');
      expect(node('node-2').spec.taints).toBeUndefined();
    });

    it('labels a node, overwriting and removing labels', async () => {
      await labelNode(runner, 'node-2', { 'hoist/role': 'master', zone: 'a' });
      await labelNode(runner, 'node-2', { zone: 'b', 'hoist/role': null });
      expect(node('node-2').metadata.labels).toMatchObject({ zone: 'b' });
      expect(node('node-2').metadata.labels?.['hoist/role']).toBeUndefined();
    });

    it('names the node and kubectl error when an operation fails', async () => {
      const err = await cordon(runner, 'node-9').catch((e: unknown) => e);
      expect(err).toBeInstanceOf(KubeError);
      expect((err as KubeError).code).toBe('ERR_KUBE_COMMAND_FAILED');
      expect((err as KubeError).message).toContain('node-9');
      expect((err as KubeError).hint).toBeTruthy();
    });
  });

  describe('drain', () => {
    it('drains a node with no budgeted pods and reports kubectl progress', async () => {
      const lines: string[] = [];
      await drain(runner, 'node-1', { timeoutMs: 60_000, onProgress: (l) => lines.push(l) });
      expect(lines.some((l) => l.includes('evicting pod default/web-'))).toBe(true);
      expect(
        f.emulator.state
          .list('Pod')
          .filter((p) => p.spec.nodeName === 'node-1')
          .map((p) => p.metadata.name),
      ).toEqual(['log-forwarder-node-1']);
    });

    it('reports the pod and the budget that block it, and finishes once the budget is released', async () => {
      const lines: string[] = [];
      const done = drain(runner, 'node-3', { timeoutMs: 90_000, onProgress: (l) => lines.push(l) });
      await until(() => lines.some((l) => l.includes('blocked by PodDisruptionBudget')));
      f.emulator.state.releaseBudget(GUARDED_BUDGET.namespace, GUARDED_BUDGET.name);
      await done;
      const blocked = lines.find((l) => l.includes('blocked by PodDisruptionBudget'))!;
      expect(blocked).toContain('pod default/guarded-1');
      expect(blocked).toContain('PodDisruptionBudget default/guarded-pdb');
      expect(blocked).toContain('minAvailable 1');
      expect(f.emulator.state.get('Pod', 'default', 'guarded-1')).toBeUndefined();
    });

    it('fails with ERR_KUBE_DRAIN_TIMEOUT naming the pod and budget when the budget never frees', async () => {
      f.emulator.state.put({
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: {
          name: 'guarded-2',
          namespace: 'default',
          labels: { app: 'pinned' },
          ownerReferences: [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'pinned-1', uid: 'rs-pinned', controller: true }],
        },
        spec: { nodeName: 'node-2', containers: [{ name: 'main', image: 'pinned:1' }] },
        status: { phase: 'Running' },
      });
      f.emulator.state.put({
        apiVersion: 'policy/v1',
        kind: 'PodDisruptionBudget',
        metadata: { name: 'pinned-pdb', namespace: 'default' },
        spec: { minAvailable: 1, selector: { matchLabels: { app: 'pinned' } } },
      });
      const err = await drain(runner, 'node-2', { timeoutMs: 1000 }).catch((e: unknown) => e);
      expect((err as KubeError).code).toBe('ERR_KUBE_DRAIN_TIMEOUT');
      expect((err as KubeError).message).toContain('node-2');
      expect((err as KubeError).message).toContain('default/guarded-2 (PodDisruptionBudget default/pinned-pdb)');
      expect(f.emulator.state.get('Pod', 'default', 'guarded-2')).toBeDefined();
      await uncordon(runner, 'node-2');
    });
  });

  describe('endpoints', () => {
    it('returns once the kube-dns, gravity-site and worker DNS endpoints are ready', async () => {
      await waitEndpoints(runner, defaultEndpointTargets('worker'), { timeoutMs: 10_000 });
      await waitEndpoints(runner, ['kube-system/kube-dns', 'default/kubernetes'], { timeoutMs: 10_000 });
    });

    it('times out naming the service that has no ready endpoints', async () => {
      const err = await waitEndpoints(runner, ['k8s-app=kube-dns', 'app=missing'], { timeoutMs: 300, intervalMs: 100 }).catch(
        (e: unknown) => e,
      );
      expect((err as KubeError).code).toBe('ERR_KUBE_ENDPOINTS_TIMEOUT');
      expect((err as KubeError).message).toContain('kube-system/app=missing');
      expect((err as KubeError).message).not.toContain('kube-dns');
    });
  });

  describe('rbac and coredns', () => {
    it('grants and revokes the kubelet permissions', async () => {
      await grantKubeletPermissions(runner);
      await grantKubeletPermissions(runner);
      const binding = f.emulator.state.get('ClusterRoleBinding', undefined, 'kubelet-upgrade')!;
      expect(binding.subjects).toEqual([{ apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name: 'kubelet' }]);
      expect(f.emulator.state.get('ClusterRole', undefined, 'kubelet-upgrade')!.rules[1].resources).toEqual(['nodes/status']);
      await revokeKubeletPermissions(runner);
      await revokeKubeletPermissions(runner);
      expect(f.emulator.state.get('ClusterRole', undefined, 'kubelet-upgrade')).toBeUndefined();
      expect(f.emulator.state.get('ClusterRoleBinding', undefined, 'kubelet-upgrade')).toBeUndefined();
    });

    it('creates the CoreDNS objects once and never overwrites an edited Corefile', async () => {
      const first = await ensureCoreDns(runner);
      expect(first.created).toEqual(['clusterrole/coredns', 'clusterrolebinding/coredns', 'configmap/kube-system/coredns']);
      const cm = f.emulator.state.get('ConfigMap', 'kube-system', 'coredns')!;
      f.emulator.state.put({ ...cm, data: { Corefile: '# edited by the operator\n' } });
      const second = await ensureCoreDns(runner);
      expect(second).toEqual({ created: [], existing: first.created });
      expect(f.emulator.state.get('ConfigMap', 'kube-system', 'coredns')!.data.Corefile).toBe('# edited by the operator\n');
    });
  });

  describe('hook jobs', () => {
    it('runs a hook job, streams its log and deletes the job', async () => {
      const lines: string[] = [];
      const result = await runHookJob(
        runner,
        jobManifest('update', { 'sandbox.hoist/log': 'helm upgrade example\nrelease "example" upgraded' }),
        { namespace: 'kube-system', onLog: (l) => lines.push(l) },
      );
      expect(result).toMatchObject({ job: 'update', namespace: 'kube-system' });
      expect(lines).toEqual(['helm upgrade example', 'release "example" upgraded']);
      expect(f.emulator.state.get('Job', 'kube-system', 'update')).toBeUndefined();
      expect(f.emulator.state.list('Pod', 'kube-system').filter((p) => p.metadata.labels?.['job-name'] === 'update')).toEqual([]);
    });

    it('throws ERR_HOOK_JOB_FAILED naming the job and its last log lines', async () => {
      const manifest = jobManifest('post-update', {
        'sandbox.hoist/outcome': 'Failed',
        'sandbox.hoist/log': 'migrating schema\nError: migration 42 failed',
      });
      const err = await runHookJob(runner, manifest, { namespace: 'kube-system' }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(HookJobError);
      const e = err as HookJobError;
      expect(e.code).toBe('ERR_HOOK_JOB_FAILED');
      expect(e.message).toContain('kube-system/post-update');
      expect(e.logTail).toContain('Error: migration 42 failed');
      expect(e.details.join('\n')).toContain('migration 42 failed');
      expect(f.emulator.state.get('Job', 'kube-system', 'post-update')).toBeUndefined();
    });

    it('replaces a job left over from an interrupted run', async () => {
      await f.kubectl(['create', '-f', '-', '--validate=false', '-n', 'kube-system'], {
        input: jobManifest('pre-update', { 'sandbox.hoist/duration-ms': '600000' }),
      });
      const result = await runHookJob(runner, jobManifest('pre-update'), { namespace: 'kube-system' });
      expect(result.logs).toEqual(['job pre-update: running hook']);
    });

    it('refuses a manifest that is not a Job', async () => {
      const err = await runHookJob(runner, 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n').catch((e: unknown) => e);
      expect((err as KubeError).code).toBe('ERR_KUBE_MANIFEST_INVALID');
    });
  });

  describe('apply', () => {
    it('creates, then updates an app resource', async () => {
      const doc = (v: string) =>
        `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: demo\n  namespace: default\ndata:\n  version: "${v}"\n`;
      expect(await applyResources(runner, doc('1'))).toEqual(['configmap/demo created']);
      expect(await applyResources(runner, doc('2'))).toEqual(['configmap/demo configured']);
      expect(f.emulator.state.get('ConfigMap', 'default', 'demo')!.data).toEqual({ version: '2' });
    });
  });
});
