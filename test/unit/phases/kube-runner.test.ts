import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { AgentError } from '../../../src/agent/errors.js';
import type { NodeAccess } from '../../../src/cluster/node-access.js';
import { ExitCode } from '../../../src/errors.js';
import type { PhaseContext } from '../../../src/fsm/executor.js';
import { kubeExecutors } from '../../../src/phases/kube-phases.js';
import { testOperation } from '../../helpers/operation-record.js';
import { plan } from '../../helpers/plan-dsl.js';

/**
 * Scripted lead master. Behaviour note: `kube.api` answers a node without taints (GET) and accepts
 * every patch, unless `proxy` is 'down' (ERR_KUBE_PROXY_UNAVAILABLE, as an agent that could not
 * start kubectl proxy) or 'old' (ERR_AGENT_UNKNOWN_ACTION, as an agent from before kube.api);
 * `kube.run` succeeds. Every call is recorded as "action method-or-verb".
 */
function leadMaster(calls: string[], proxy: 'up' | 'down' | 'old' = 'up'): NodeAccess {
  return {
    async run<T>(_node: string, action: string, params: Record<string, unknown> = {}): Promise<T> {
      if (action === 'kube.run') {
        calls.push(`kube.run ${(params.args as string[])[0]}`);
        return { exitCode: 0, stdout: '', stderr: '' } as T;
      }
      calls.push(`kube.api ${params.method}`);
      if (proxy === 'down')
        throw new AgentError('ERR_KUBE_PROXY_UNAVAILABLE', 'the kubectl proxy is unavailable: kubectl proxy exited', ExitCode.phaseFailed);
      if (proxy === 'old') throw new AgentError('ERR_AGENT_UNKNOWN_ACTION', 'unknown action "kube.api"', ExitCode.internal);
      return { status: 200, body: JSON.stringify({ metadata: { resourceVersion: '1' }, spec: {} }), started: false } as T;
    },
    reset: async () => undefined,
    hello: async () => ({ version: '1.0.0', hostname: 'h', pid: 1 }),
    where: (n) => `on ${n}`,
    nodeNames: () => ['node-1', 'node-2'],
    close: async () => undefined,
  };
}

function ctx(warnings: string[]): PhaseContext {
  const logger = pino({ level: 'warn' }, { write: (line: string) => void warnings.push(JSON.parse(line).msg) });
  return {
    plan: plan([]),
    phase: {
      id: '/workers/node-2/taint',
      executor: 'taint',
      description: 'Taint node "node-2"',
      requires: [],
      node: 'node-1',
      server: 'node-2',
    },
    operation: testOperation(),
    logger,
    signal: new AbortController().signal,
    report: () => undefined,
  };
}

const image = async () => {
  throw new Error('kube phases need no image');
};

describe('phases › kube runner', () => {
  it('taints through kube.api on the lead master, no kubectl', async () => {
    const calls: string[] = [];
    await kubeExecutors.taint({ nodes: leadMaster(calls), version: '1.0.0', image }).execute(ctx([]));
    expect(calls).toEqual(['kube.api GET', 'kube.api PATCH']);
  });

  it('with the proxy turned off (HOIST_KUBE_PROXY=off) every step runs kubectl', async () => {
    const calls: string[] = [];
    await kubeExecutors.taint({ nodes: leadMaster(calls), version: '1.0.0', image, kubeProxy: false }).execute(ctx([]));
    expect(calls).toEqual(['kube.run taint']);
  });

  it.each(['down', 'old'] as const)('an agent without a usable proxy (%s): the step runs kubectl and the log says so', async (proxy) => {
    const calls: string[] = [];
    const warnings: string[] = [];
    await kubeExecutors.taint({ nodes: leadMaster(calls, proxy), version: '1.0.0', image }).execute(ctx(warnings));
    expect(calls).toEqual(['kube.api GET', 'kube.run taint']);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/^no kubectl proxy on node-1 \(.+\); \/workers\/node-2\/taint runs kubectl for this step instead$/);
  });
});
