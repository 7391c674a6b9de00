import { describe, expect, it } from 'vitest';
import { type KubeApi, type KubeApiRequest, KubeApiUnavailableError } from '../../../src/kube/api.js';
import { cordon, labelNode, RUNLEVEL_TAINT, taintNode, uncordon, untaintNode, waitEndpoints } from '../../../src/kube/index.js';
import type { KubectlRunner } from '../../../src/kube/runner.js';
import { caught } from '../../helpers/caught.js';

/**
 * A scripted API: answers from `answer` (default: the node object), records every request. The
 * runner's kubectl only records its arguments and succeeds, so a test sees which path ran.
 */
function fakeCluster(answer?: (req: KubeApiRequest, n: number) => { status: number; body: unknown } | undefined) {
  const requests: KubeApiRequest[] = [];
  const kubectlRuns: string[][] = [];
  let node = {
    metadata: { name: 'node-1', resourceVersion: '7' },
    spec: { taints: [{ key: 'other', effect: 'NoSchedule' }] as unknown[] },
  };
  const api: KubeApi = {
    async request(req) {
      requests.push(req);
      const scripted = answer?.(req, requests.length);
      if (scripted)
        return { status: scripted.status, body: typeof scripted.body === 'string' ? scripted.body : JSON.stringify(scripted.body) };
      if (req.method === 'PATCH') node = { ...node, spec: { ...node.spec, ...(req.body as { spec?: object }).spec } };
      return { status: 200, body: JSON.stringify(node) };
    },
  };
  const runner: KubectlRunner = {
    async run(args) {
      kubectlRuns.push(args);
      return { exitCode: 0, stdout: '{"items":[{"subsets":[{"addresses":[{}]}]}]}', stderr: '' };
    },
    api,
  };
  return { runner, requests, kubectlRuns, node: () => node };
}

const notFound = { status: 404, body: { kind: 'Status', reason: 'NotFound', message: 'nodes "node-9" not found', code: 404 } };

describe('kube', () => {
  describe('node operations through the API path', () => {
    it('cordons and uncordons with one merge patch each and no kubectl', async () => {
      const c = fakeCluster();
      await cordon(c.runner, 'node-1');
      await uncordon(c.runner, 'node-1');
      expect(c.requests.map((r) => [r.method, r.path, r.body])).toEqual([
        ['PATCH', '/api/v1/nodes/node-1', { spec: { unschedulable: true } }],
        ['PATCH', '/api/v1/nodes/node-1', { spec: { unschedulable: null } }],
      ]);
      expect(c.kubectlRuns).toEqual([]);
    });

    it('taints once, keeping other taints and sending the resourceVersion it read; a second taint writes nothing', async () => {
      const c = fakeCluster();
      await taintNode(c.runner, 'node-1');
      await taintNode(c.runner, 'node-1');
      expect(c.requests.map((r) => r.method)).toEqual(['GET', 'PATCH', 'GET']);
      expect(c.requests[1]!.body).toEqual({
        metadata: { resourceVersion: '7' },
        spec: { taints: [{ key: 'other', effect: 'NoSchedule' }, { ...RUNLEVEL_TAINT }] },
      });
      expect(c.kubectlRuns).toEqual([]);
    });

    it('untaints only the runlevel taint, and a node without it is left alone', async () => {
      const c = fakeCluster();
      await taintNode(c.runner, 'node-1');
      await untaintNode(c.runner, 'node-1');
      expect(c.node().spec.taints).toEqual([{ key: 'other', effect: 'NoSchedule' }]);
      const before = c.requests.length;
      await untaintNode(c.runner, 'node-1');
      expect(c.requests.slice(before).map((r) => r.method)).toEqual(['GET']);
    });

    it('reads the node again when the patch lost a race (409)', async () => {
      const c = fakeCluster((req, n) =>
        req.method === 'PATCH' && n === 2 ? { status: 409, body: { kind: 'Status', reason: 'Conflict' } } : undefined,
      );
      await taintNode(c.runner, 'node-1');
      expect(c.requests.map((r) => r.method)).toEqual(['GET', 'PATCH', 'GET', 'PATCH']);
    });

    it('labels with one merge patch, null removing a label', async () => {
      const c = fakeCluster();
      await labelNode(c.runner, 'node-1', { 'hoist/version': '2.0.0', old: null });
      expect(c.requests[0]).toMatchObject({ method: 'PATCH', body: { metadata: { labels: { 'hoist/version': '2.0.0', old: null } } } });
    });

    it('a missing node fails with the code and message kubectl gives for it', async () => {
      const c = fakeCluster(() => notFound);
      const viaApi = await caught(uncordon(c.runner, 'node-9'));
      const viaKubectl = await caught(
        uncordon(
          { run: async () => ({ exitCode: 1, stdout: '', stderr: 'Error from server (NotFound): nodes "node-9" not found\n' }) },
          'node-9',
        ),
      );
      expect(viaApi.code).toBe('ERR_KUBE_COMMAND_FAILED');
      expect([viaApi.message, viaApi.hint]).toEqual([viaKubectl.message, viaKubectl.hint]);
      expect(viaApi.message).toBe(
        'could not uncordon node "node-9": kubectl uncordon failed (exit 1): Error from server (NotFound): nodes "node-9" not found',
      );
      expect((await caught(taintNode(c.runner, 'node-9'))).message).toContain('nodes "node-9" not found');
    });

    it('an API the proxy cannot reach is ERR_KUBE_API_UNREACHABLE', async () => {
      const c = fakeCluster(() => ({ status: 500, body: 'dial tcp 127.0.0.1:6443: connect: connection refused\n' }));
      const err = await caught(cordon(c.runner, 'node-1'));
      expect(err.code).toBe('ERR_KUBE_API_UNREACHABLE');
      expect(err.message).toContain('connection refused');
    });

    it('runs kubectl with the same arguments when the API path is unavailable', async () => {
      const c = fakeCluster();
      c.runner.api = {
        request: async () => {
          throw new KubeApiUnavailableError('no proxy');
        },
      };
      await taintNode(c.runner, 'node-1');
      await labelNode(c.runner, 'node-1', { a: 'b' });
      expect(c.kubectlRuns).toEqual([
        ['taint', 'nodes', 'node-1', 'hoist/runlevel=system:NoExecute', '--overwrite'],
        ['label', 'nodes', 'node-1', 'a=b', '--overwrite'],
      ]);
    });
  });

  describe('endpoints through the API path', () => {
    it('lists endpoints by label and by name with encoded selectors', async () => {
      const c = fakeCluster(() => ({ status: 200, body: { items: [{ subsets: [{ addresses: [{ ip: '10.0.0.1' }] }] }] } }));
      await waitEndpoints(c.runner, ['k8s-app=kube-dns', 'default/web']);
      expect(c.requests.map((r) => r.path)).toEqual([
        '/api/v1/namespaces/kube-system/endpoints?labelSelector=k8s-app%3Dkube-dns',
        '/api/v1/namespaces/default/endpoints?fieldSelector=metadata.name%3Dweb',
      ]);
      expect(c.kubectlRuns).toEqual([]);
    });
  });
});
