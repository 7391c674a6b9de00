import { describe, expect, it } from 'vitest';
import { healthLine, nodeDocument, renderNodeTable } from '../../../src/cli/render/node-table.js';
import { renderStatus } from '../../../src/cli/render/status.js';
import { parseKubeNodes } from '../../../src/cluster/kube-nodes.js';
import { clusterHealth, type NodeStatus } from '../../../src/cluster/node-status.js';

const node = (name: string, extra: Partial<NodeStatus> = {}): NodeStatus => ({
  name,
  address: `10.0.0.${name.slice(-1)}`,
  role: 'master',
  agent: { state: 'running', version: '0.1.0' },
  runtime: { version: '7.0.35-11706', health: 'healthy', message: 'healthy' },
  kube: { ready: true, schedulable: true, taints: [] },
  image: '1.0.0',
  manifest: null,
  failures: [],
  ...extra,
});

describe('cluster › node status', () => {
  it('reads readiness, schedulability and taints from kubectl get nodes -o json', () => {
    const json = JSON.stringify({
      items: [
        { metadata: { name: 'a' }, status: { conditions: [{ type: 'Ready', status: 'True' }] } },
        {
          metadata: { name: 'b' },
          spec: { unschedulable: true, taints: [{ key: 'hoist/runlevel', value: 'system', effect: 'NoExecute' }] },
          status: { conditions: [{ type: 'Ready', status: 'False', reason: 'KubeletDown' }] },
        },
      ],
    });
    const nodes = parseKubeNodes(json);
    expect(nodes.get('a')).toEqual({ ready: true, schedulable: true, taints: [] });
    expect(nodes.get('b')).toEqual({
      ready: false,
      reason: 'KubeletDown',
      schedulable: false,
      taints: ['hoist/runlevel=system:NoExecute'],
    });
    expect(() => parseKubeNodes('{"items":[{}]}')).toThrow();
  });

  it('is degraded when any probe failed, naming node and probe once each', () => {
    const sick = node('node-2', {
      runtime: { version: '7.0.35-11706', health: 'unhealthy', message: 'no answer' },
      failures: [
        { probe: 'runtime-health', message: 'no answer' },
        { probe: 'kube-ready', message: 'NotReady' },
      ],
    });
    expect(clusterHealth([node('node-1')])).toEqual({ state: 'healthy', failures: [] });
    const health = clusterHealth([node('node-1'), sick]);
    expect(health.failures).toEqual([
      { node: 'node-2', probe: 'runtime-health', message: 'no answer' },
      { node: 'node-2', probe: 'kube-ready', message: 'NotReady' },
    ]);
    expect(healthLine(health)).toBe('degraded (node-2: runtime-health; node-2: kube-ready)');
    const lines = renderNodeTable([node('node-1'), sick]);
    expect(lines[0]).toMatch(/^ {4}Node\s+Address\s+Role\s+Agent\s+Runtime\s+Health\s+Kubernetes\s+Taints\s+Image$/);
    expect(lines[2]).toMatch(/node-2\s+10\.0\.0\.2\s+master\s+running 0\.1\.0\s+7\.0\.35-11706\s+unhealthy\s+Ready\s+-\s+1\.0\.0/);
    expect(lines.slice(3)).toEqual(['    [node-2] runtime-health: no answer', '    [node-2] kube-ready: NotReady']);
    expect(nodeDocument(sick)).toMatchObject({
      healthy: false,
      failures: [{ probe: 'runtime-health', message: 'no answer' }, { probe: 'kube-ready' }],
    });
  });

  it('says when no operation has run, and counts one second without a plural', () => {
    const now = new Date('2026-11-29T02:00:01Z');
    const cluster = { name: 'demo', status: 'active' as const, image: { name: 'demo', version: '1.0.0' }, updated: now.toISOString() };
    const nodes = [node('node-1')];
    const text = renderStatus({ cluster, nodes, health: clusterHealth(nodes), noOperation: true }, now);
    expect(text).toContain('Cluster health:         healthy\n');
    expect(text).toContain('Operations:             none (no operation has run on this cluster)');
    expect(text).toContain('Nodes:\n    Node');
    const op = {
      id: 'op',
      type: 'upgrade' as const,
      cluster: 'demo',
      state: 'completed' as const,
      from: '1.0.0',
      to: '2.0.0',
      image: 'demo',
      mode: 'automatic' as const,
      created: '2026-11-29T02:00:00Z',
      updated: '2026-11-29T02:00:00Z',
      createdBy: { host: 'h', pid: 1, user: 'u' },
    };
    const last = renderStatus({ cluster, last: op }, now);
    expect(last).toContain('(1 second ago)');
    expect(last).toMatch(/ {6}Started: {4}\S/);
    expect(last).toMatch(/ {6}Completed: {2}\S/);
  });
});
