import { describe, expect, it } from 'vitest';
import type { KubeRunResult } from '../../../src/agent/actions/kube-run.js';
import { kubeView } from '../../../src/agent/actions/report-kube.js';

const ok = (stdout: string): KubeRunResult => ({ exitCode: 0, stdout, stderr: '' });
const list = (items: unknown[]): KubeRunResult => ok(JSON.stringify({ items }));
const node = (name: string, ready: string, unschedulable = false) => ({
  metadata: { name },
  spec: unschedulable ? { unschedulable: true } : {},
  status: { conditions: [{ type: 'Ready', status: ready, ...(ready === 'True' ? {} : { reason: 'NodeStatusUnknown' }) }] },
});
const pod = (namespace: string, name: string, phase: string) => ({ metadata: { namespace, name }, status: { phase } });

/** kubectl as the API answers it: lists as JSON, describe as a marker naming what it was asked. */
function kubectl(calls: string[]) {
  return async (args: string[]): Promise<KubeRunResult> => {
    calls.push(args.join(' '));
    const key = args.join(' ');
    if (key === 'get nodes -o json') return list([node('node-1', 'True'), node('node-2', 'Unknown'), node('node-3', 'True', true)]);
    if (key === 'get pods -A -o json') {
      return list([
        pod('default', 'web', 'Running'),
        pod('default', 'stuck', 'Pending'),
        pod('kube-system', 'hook-x1', 'Failed'),
        pod('default', 'done', 'Succeeded'),
      ]);
    }
    if (key === 'get jobs -A -o json') {
      return list([
        {
          metadata: { namespace: 'kube-system', name: 'pre-update' },
          status: { conditions: [{ type: 'Failed', status: 'True', reason: 'BackoffLimitExceeded' }] },
        },
        { metadata: { namespace: 'kube-system', name: 'post-update' }, status: { conditions: [{ type: 'Complete', status: 'True' }] } },
      ]);
    }
    if (key === 'get events -A -o wide')
      return { exitCode: 1, stdout: '', stderr: 'error: the server does not have resource type "events"' };
    return ok(`described: ${key}\n`);
  };
}

describe('agent › report kube view', () => {
  it('describes the NotReady and cordoned nodes, the pods neither Running nor Succeeded and the failed Jobs, by name', async () => {
    const calls: string[] = [];
    const files = await kubeView(kubectl(calls));
    expect(files.map((f) => f.name)).toEqual([
      'get-nodes.txt',
      'get-pods.txt',
      'get-events.txt',
      'describe-failing-nodes.txt',
      'describe-failing-pods.txt',
      'describe-failing-jobs.txt',
    ]);
    expect(calls.filter((c) => c.startsWith('describe'))).toEqual([
      'describe nodes node-2 node-3',
      'describe pods -n default stuck',
      'describe pods -n kube-system hook-x1',
      'describe jobs -n kube-system pre-update',
    ]);
    const text = (name: string) => files.find((f) => f.name === name)!.text;
    expect(text('describe-failing-nodes.txt')).toBe(
      '# nodes NotReady or unschedulable: node-2 (NotReady: NodeStatusUnknown), node-3 (unschedulable)\n' +
        '$ kubectl describe nodes node-2 node-3\ndescribed: describe nodes node-2 node-3\n(exit 0)\n',
    );
    expect(text('describe-failing-pods.txt')).toMatch(
      /^# pods neither Running nor Succeeded: default\/stuck \(Pending\), kube-system\/hook-x1 \(Failed\)\n/,
    );
    expect(text('describe-failing-jobs.txt')).toMatch(/^# Jobs that failed: kube-system\/pre-update \(Failed: BackoffLimitExceeded\)\n/);
    expect(text('get-events.txt')).toBe(
      '$ kubectl get events -A -o wide\n\nerror: the server does not have resource type "events"(exit 1)\n',
    );
  });

  it('says "none" when nothing fails, and keeps kubectl\'s error when a kind cannot be listed', async () => {
    const calls: string[] = [];
    const files = await kubeView(async (args) => {
      calls.push(args.join(' '));
      if (args[1] === 'jobs') return { exitCode: 1, stdout: '', stderr: 'error: the server doesn\'t have a resource type "jobs"' };
      return list([]);
    });
    expect(calls.some((c) => c.startsWith('describe'))).toBe(false);
    expect(files.find((f) => f.name === 'describe-failing-nodes.txt')!.text).toBe('# nodes NotReady or unschedulable: none\n');
    expect(files.find((f) => f.name === 'describe-failing-jobs.txt')!.text).toContain(
      '# Jobs that failed: the list could not be read\n$ kubectl get jobs -A -o json\n',
    );
  });
});
