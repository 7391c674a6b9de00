import pino from 'pino';
import { describe, expect, it } from 'vitest';
import type { NodeAccess } from '../../../src/cluster/node-access.js';
import type { PhaseContext } from '../../../src/fsm/executor.js';
import { checksExecutor, driftFailures } from '../../../src/phases/checks.js';
import { caught } from '../../helpers/caught.js';
import { testOperation } from '../../helpers/operation-record.js';
import { plan } from '../../helpers/plan-dsl.js';

/**
 * Scripted node answers. Behaviour note: every node passes unless `bad` names it; a bad node runs
 * an old agent, has no free space, writes at 2 MB/s and runs its clock 5 s ahead.
 */
function nodes(bad: string[] = [], calls: string[] = []): NodeAccess {
  return {
    async run<T>(node: string, action: string): Promise<T> {
      calls.push(`${node} ${action}`);
      const isBad = bad.includes(node);
      const answers: Record<string, unknown> = {
        facts: { agentVersion: isBad ? '0.0.1' : '1.0.0', stateDirFreeBytes: isBad ? 0 : 2 ** 40 },
        'check.tmp': { file: '/tmp/x' },
        'check.disk-write': { bestMBps: isBad ? 2 : 400, samples: [], file: 'f', bytes: 1 },
        'check.time': { time: Date.now() + (isBad ? 5_000 : 0) },
      };
      return answers[action] as T;
    },
    reset: async () => undefined,
    hello: async () => ({ version: '1.0.0', hostname: 'h', pid: 1 }),
    where: (n) => `on ${n}`,
    nodeNames: () => ['node-1', 'node-2'],
    close: async () => undefined,
  };
}

function ctx(): PhaseContext {
  const p = plan([]);
  p.servers = [
    { name: 'node-1', address: '127.0.0.2', role: 'master' },
    { name: 'node-2', address: '127.0.0.3', role: 'master' },
  ];
  return {
    plan: p,
    phase: {
      id: '/checks',
      executor: 'checks',
      description: 'Run preflight checks',
      requires: [],
      node: 'node-1',
      data: { requirements: { minDiskWriteMBps: 10, maxTimeDriftMs: 300, minFreeStateDirBytes: 1024 } },
    },
    operation: testOperation(),
    logger: pino({ level: 'silent' }),
    signal: new AbortController().signal,
    report: () => undefined,
  };
}

const image = async () => {
  throw new Error('checks need no image');
};

describe('phases › checks', () => {
  it('passes when every node meets the requirements, having run every check on every node', async () => {
    const calls: string[] = [];
    await expect(checksExecutor({ nodes: nodes([], calls), version: '1.0.0', image }).execute(ctx())).resolves.toBeUndefined();
    expect(calls.sort()).toEqual(
      ['node-1', 'node-2'].flatMap((n) => ['check.disk-write', 'check.time', 'check.tmp', 'facts'].map((a) => `${n} ${a}`)),
    );
  });

  it('lists every failed check of every node under "The following checks failed:"', async () => {
    const err = await caught(checksExecutor({ nodes: nodes(['node-2']), version: '1.0.0', image }).execute(ctx()));
    expect(err.code).toBe('ERR_CHECKS_FAILED');
    expect(err.message.split('\n')[0]).toBe('The following checks failed:');
    expect(err.details).toEqual([
      'node-2: agent version 0.0.1 differs from hoist 1.0.0 (redeploy with "hoist agent deploy")',
      'node-2: state dir has 0 B free, 1.0 KiB required',
      'node-2: disk write speed 2 MB/s of the state dir is below the required 10 MB/s',
      expect.stringMatching(/^time drift between node-1 and node-2 is \d+ ms( \(± \d+ ms\))?, above the allowed 300 ms$/),
    ]);
  });

  it('measures drift as the spread of clock offsets', () => {
    expect(
      driftFailures(
        [
          { node: 'a', offsetMs: -100 },
          { node: 'b', offsetMs: 150 },
        ],
        300,
      ),
    ).toEqual([]);
    expect(driftFailures([{ node: 'a', offsetMs: -200 }, { node: 'b', offsetMs: 150 }, { node: 'c' }], 300)).toEqual([
      'time drift between a and b is 350 ms, above the allowed 300 ms',
    ]);
  });

  it('keeps the clock sample with the shortest round trip, so one slow answer is not drift', async () => {
    const base = nodes();
    let slowAnswers = 0;
    const skewed: NodeAccess = {
      ...base,
      async run<T>(node: string, action: string, params: unknown): Promise<T> {
        // node-2's first answer is read 3 s late and arrives after a further 600 ms: it alone would be 3 s of drift.
        if (node === 'node-2' && action === 'check.time' && slowAnswers++ === 0) {
          const t = Date.now() + 3_000;
          await new Promise((r) => setTimeout(r, 600));
          return { time: t } as T;
        }
        return base.run<T>(node, action, params as never);
      },
    };
    await expect(checksExecutor({ nodes: skewed, version: '1.0.0', image }).execute(ctx())).resolves.toBeUndefined();
    expect(slowAnswers).toBeGreaterThan(1);
  });

  it('forgives drift within the round-trip uncertainty of the two samples, not beyond it', () => {
    const slow = [
      { node: 'a', offsetMs: 0, uncertaintyMs: 700 },
      { node: 'b', offsetMs: 1400, uncertaintyMs: 500 },
    ];
    expect(driftFailures(slow, 300)).toEqual([]);
    expect(driftFailures([slow[0]!, { node: 'b', offsetMs: 2000, uncertaintyMs: 500 }], 300)).toEqual([
      'time drift between a and b is 2000 ms (± 1200 ms), above the allowed 300 ms',
    ]);
  });
});
