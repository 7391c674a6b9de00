import { describe, expect, it } from 'vitest';
import { idealMakespan, leafRuns, planEfficiency, scheduleEfficiency } from '../../../src/bench/schedule.js';
import type { Phase, Plan, PlanChange } from '../../../src/plan/types.js';

const leaf = (id: string, requires: string[] = []): Phase => ({ id, description: id, requires });

/** Workers of two chained leaves each, `parallel` at once. */
function workers(count: number, parallel: number): Phase {
  return {
    id: '/workers',
    description: 'workers',
    requires: [],
    parallel,
    phases: Array.from({ length: count }, (_, i) => ({
      id: `/workers/w${i}`,
      description: `w${i}`,
      requires: [],
      phases: [leaf(`/workers/w${i}/a`), leaf(`/workers/w${i}/b`, [`/workers/w${i}/a`])],
    })),
  };
}

/** Changes of leaves that ran exactly at [start, end] seconds. */
function changes(runs: [string, number, number][]): PlanChange[] {
  const at = (s: number) => new Date(1_700_000_000_000 + s * 1000).toISOString();
  const out: PlanChange[] = [];
  let seq = 0;
  for (const [phase, start, end] of runs) {
    out.push({ seq: ++seq, phase, state: 'in_progress', action: 'execute', at: at(start) });
    out.push({ seq: ++seq, phase, state: 'completed', action: 'execute', at: at(end) });
  }
  return out;
}

describe('schedule efficiency', () => {
  it('is 1 for a run that is exactly what the window allows', () => {
    // 4 workers, 2 at once, each leaf 1 s: two rounds of 2 s.
    const runs = leafRuns(
      changes([
        ['/workers/w0/a', 0, 1],
        ['/workers/w1/a', 0, 1],
        ['/workers/w0/b', 1, 2],
        ['/workers/w1/b', 1, 2],
        ['/workers/w2/a', 2, 3],
        ['/workers/w3/a', 2, 3],
        ['/workers/w2/b', 3, 4],
        ['/workers/w3/b', 3, 4],
      ]),
    );
    expect(scheduleEfficiency(workers(4, 2), runs)).toEqual({ ideal: 4000, real: 4000, efficiency: 1 });
  });

  it('charges gaps between phases and a window left unused', () => {
    // Same durations, but run one at a time with a 1 s gap before each second leaf.
    const runs = leafRuns(
      changes([
        ['/workers/w0/a', 0, 1],
        ['/workers/w0/b', 2, 3],
        ['/workers/w1/a', 3, 4],
        ['/workers/w1/b', 5, 6],
      ]),
    );
    const { ideal, real, efficiency } = scheduleEfficiency(workers(2, 2), runs);
    expect(ideal).toBe(2000);
    expect(real).toBe(6000);
    expect(efficiency).toBeCloseTo(1 / 3);
  });

  it('keeps requirements: a leaf waits for the leaf it requires, and groups run in plan order', () => {
    const plan = {
      phases: [
        { id: '/init', description: '', requires: [], parallel: 3, phases: [leaf('/init/x'), leaf('/init/y')] },
        { id: '/checks', description: '', requires: ['/init'] },
      ],
    } as unknown as Plan;
    const runs = leafRuns(
      changes([
        ['/init/x', 0, 3],
        ['/init/y', 0, 1],
        ['/checks', 3, 5],
      ]),
    );
    expect(idealMakespan(plan.phases, runs)).toBe(5000);
    expect(planEfficiency(plan, runs).efficiency).toBe(1);
  });

  it('measures an attempt from its first in_progress, not from the ones its node executions append', () => {
    const owner = (executions: number) => ({
      host: 'h',
      pid: 1,
      attempt: 'a1',
      executions: Array.from({ length: executions }, (_, i) => ({ node: 'n', id: `e${i}` })),
    });
    const runs = leafRuns([
      { seq: 1, phase: '/a', state: 'in_progress', action: 'execute', at: new Date(1000).toISOString(), owner: owner(0) },
      { seq: 2, phase: '/a', state: 'in_progress', action: 'execute', at: new Date(1500).toISOString(), owner: owner(1) },
      { seq: 3, phase: '/a', state: 'in_progress', action: 'execute', at: new Date(2500).toISOString(), owner: owner(2) },
      { seq: 4, phase: '/a', state: 'completed', action: 'execute', at: new Date(3000).toISOString() },
    ]);
    expect(runs.get('/a')).toEqual({ start: 1000, end: 3000 });
  });

  it('measures the last attempt of a leaf that failed first, and ignores rollbacks', () => {
    const runs = leafRuns([
      { seq: 1, phase: '/a', state: 'in_progress', action: 'execute', at: new Date(0).toISOString() },
      { seq: 2, phase: '/a', state: 'failed', action: 'execute', at: new Date(5000).toISOString() },
      { seq: 3, phase: '/a', state: 'in_progress', action: 'rollback', at: new Date(6000).toISOString() },
      { seq: 4, phase: '/a', state: 'rolled_back', action: 'rollback', at: new Date(7000).toISOString() },
      { seq: 5, phase: '/a', state: 'in_progress', action: 'execute', at: new Date(8000).toISOString() },
      { seq: 6, phase: '/a', state: 'completed', action: 'execute', at: new Date(8500).toISOString() },
    ]);
    expect(runs.get('/a')).toEqual({ start: 8000, end: 8500 });
  });
});
