import { describe, expect, it } from 'vitest';
import { ExitCode, HoistError } from '../../../src/errors.js';
import { phase, planRoot } from '../../../src/plan/builder/tree.js';
import { buildUpgradePlan } from '../../../src/plan/builder/upgrade-plan.js';
import { validatePlan } from '../../../src/plan/builder/validate.js';
import type { Phase } from '../../../src/plan/types.js';
import { SCENARIOS } from './scenarios.js';

const leaf = (id: string, requires: string[] = []): Phase => ({ id, executor: 'health', description: id, requires });
const group = (id: string, phases: Phase[], requires: string[] = []): Phase => ({ id, description: id, requires, parallel: 1, phases });

function rejection(phases: Phase[]): HoistError {
  try {
    validatePlan(phases);
  } catch (err) {
    expect(HoistError.isHoistError(err)).toBe(true);
    const e = err as HoistError;
    expect(e.code).toBe('ERR_PLAN_INVALID');
    expect(e.exitCode).toBe(ExitCode.internal);
    return e;
  }
  throw new Error('plan was accepted');
}

describe('plan builder', () => {
  describe('DAG validation', () => {
    it('accepts every scenario plan', () => {
      for (const input of Object.values(SCENARIOS)) expect(() => validatePlan(buildUpgradePlan(input).phases)).not.toThrow();
    });

    it('rejects a requirement on a phase that does not exist', () => {
      const e = rejection([leaf('/a'), leaf('/b', ['/c'])]);
      expect(e.message).toBe('phase "/b" requires "/c", which is not in the plan');
      expect(e.phase).toBe('/b');
    });

    it('rejects a cycle, also one that runs through groups', () => {
      expect(rejection([leaf('/a', ['/b']), leaf('/b', ['/a'])]).message).toContain('cycle');
      const e = rejection([group('/g', [leaf('/g/x', ['/h'])]), group('/h', [leaf('/h/y')], ['/g'])]);
      expect(e.message).toContain('cycle');
    });

    it('rejects a phase that requires its own descendant, ancestor or itself', () => {
      expect(rejection([group('/g', [leaf('/g/x')], ['/g/x'])]).message).toContain('its own line');
      expect(rejection([group('/g', [leaf('/g/x', ['/g'])])]).message).toContain('its own line');
      expect(rejection([leaf('/a', ['/a'])]).message).toContain('its own line');
    });

    it('rejects duplicate ids, ids outside their parent, leaves without executor and groups without parallel', () => {
      expect(rejection([leaf('/a'), leaf('/a')]).message).toContain('appears twice');
      expect(rejection([group('/g', [leaf('/h/x')])]).message).toContain('not a child path');
      expect(rejection([{ id: '/a', description: 'a', requires: [] }]).message).toContain('has no executor');
      expect(rejection([{ ...group('/g', [leaf('/g/x')]), parallel: 0 }]).message).toContain('parallel');
    });
  });

  describe('tree DSL', () => {
    it('resolves ids from the final position and chains sequential children', () => {
      const root = planRoot();
      const a = phase('a', { executor: 'health', description: 'A' });
      const g = phase('g', { description: 'G', parallel: 2 });
      g.addParallel(phase('p', { executor: 'health', description: 'P' }));
      g.addSequential(phase('s1', { executor: 'health', description: 'S1' }), phase('s2', { executor: 'health', description: 'S2' }));
      root.addSequential(a, g.require(a, a));
      const [pa, pg] = root.children.map((c) => c.toPhase());
      expect(pa).toEqual({ id: '/a', executor: 'health', description: 'A', requires: [] });
      // Required explicitly and by the sequential add: listed once.
      expect(pg!.requires).toEqual(['/a']);
      expect(pg!.parallel).toBe(2);
      expect(pg!.phases!.map((p) => [p.id, p.requires])).toEqual([
        ['/g/p', []],
        ['/g/s1', ['/g/p']],
        ['/g/s2', ['/g/s1']],
      ]);
    });

    it('refuses to hang one phase under two parents', () => {
      const shared = phase('x', { executor: 'health', description: 'X' });
      phase('a', { description: 'A' }).addParallel(shared);
      expect(() => phase('b', { description: 'B' }).addParallel(shared)).toThrow('phase "x" is already under "a"');
    });
  });
});
