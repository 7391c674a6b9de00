import { describe, expect, it } from 'vitest';
import { deriveState, resolvePlan } from '../../../src/plan/resolve.js';
import { group, leaf, plan } from '../../helpers/plan-dsl.js';

describe('resolve › the five parent-state rules', () => {
  it('1: one distinct state is the parent state', () => {
    expect(deriveState(['completed', 'completed'])).toBe('completed');
    expect(deriveState(['rolled_back'])).toBe('rolled_back');
  });
  it('2: any failed child makes the parent failed', () => {
    expect(deriveState(['completed', 'failed', 'in_progress'])).toBe('failed');
  });
  it('3: otherwise any in-progress child makes it in progress', () => {
    expect(deriveState(['completed', 'in_progress', 'rolled_back'])).toBe('in_progress');
  });
  it('4: only rolled back and unstarted children make it rolled back', () => {
    expect(deriveState(['rolled_back', 'unstarted', 'unstarted'])).toBe('rolled_back');
  });
  it('5: any other mix is in progress', () => {
    expect(deriveState(['completed', 'unstarted'])).toBe('in_progress');
    expect(deriveState(['completed', 'rolled_back'])).toBe('in_progress');
  });
});

describe('resolve › plan + changelog', () => {
  const p = plan([group('/init', [leaf('/init/a'), leaf('/init/b')]), leaf('/checks', ['/init'])]);

  it('takes the highest seq per leaf, whatever the timestamps say', () => {
    const view = resolvePlan(p, [
      { seq: 2, phase: '/init/a', state: 'completed', at: '2026-01-01T00:00:00Z' },
      { seq: 1, phase: '/init/a', state: 'in_progress', at: '2026-01-01T09:00:00Z' },
    ]);
    expect(view.phases[0]!.phases![0]).toMatchObject({ state: 'completed', updated: '2026-01-01T00:00:00Z' });
    expect(view.phases[0]!.state).toBe('in_progress');
    expect(view.phases[1]!.state).toBe('unstarted');
  });

  it('gives a group the latest update of its children and carries errors', () => {
    const view = resolvePlan(p, [
      { seq: 1, phase: '/init/a', state: 'completed', at: '2026-01-01T01:00:00Z' },
      { seq: 2, phase: '/init/b', state: 'failed', at: '2026-01-01T02:00:00Z', error: { code: 'E', message: 'boom' } },
    ]);
    expect(view.phases[0]).toMatchObject({ state: 'failed', updated: '2026-01-01T02:00:00Z' });
    expect(view.phases[0]!.phases![1]!.error).toEqual({ code: 'E', message: 'boom' });
  });

  it('marks an in-progress leaf whose owner is gone as interrupted, and its parents too', () => {
    const changes = [{ seq: 1, phase: '/init/a', state: 'in_progress' as const, at: 'x', owner: { host: 'h', pid: 42 } }];
    const gone = resolvePlan(p, changes, () => false);
    expect(gone.phases[0]!.phases![0]!.interrupted).toBe(true);
    expect(gone.phases[0]!.interrupted).toBe(true);
    const alive = resolvePlan(p, changes, () => true);
    expect(alive.phases[0]!.phases![0]!.interrupted).toBeUndefined();
  });
});
