import { describe, expect, it } from 'vitest';
import { manifestFromText } from '../../../src/config/load.js';
import { toImageFacts } from '../../../src/config/upgrade-input.js';
import type { InputError } from '../../../src/errors.js';
import type { ImageFacts } from '../../../src/plan/builder/input.js';
import { buildUpgradePlan } from '../../../src/plan/builder/upgrade-plan.js';
import { findPhase } from '../../../src/plan/query.js';
import type { Plan } from '../../../src/plan/types.js';
import { SCENARIOS } from './scenarios.js';

const withWorkers = SCENARIOS['1-master-2-workers']!;
const demo = SCENARIOS['demo-3-masters']!;
const actions: ImageFacts['nodeActions'] = {
  preUpgrade: [{ name: 'stop-app', run: 'systemctl stop app', timeoutSeconds: 30 }],
  postUpgrade: [{ name: 'notify', package: 'runtime:7.0.56-11709', hook: 'health' }],
};
const steps = (plan: Plan, id: string): string[] => (findPhase(plan.phases, id)?.phases ?? []).map((p) => p.id.split('/').pop()!);

describe('plan builder', () => {
  describe('per-node actions', () => {
    it('runs pre-actions first and post-actions once the node is healthy, on the node itself', () => {
      const plan = buildUpgradePlan({ ...withWorkers, target: { ...withWorkers.target, nodeActions: actions } });
      expect(steps(plan, '/workers/node-2')).toEqual([
        'pre-actions',
        'drain',
        'system-upgrade',
        'health',
        'post-actions',
        'taint',
        'uncordon',
        'endpoints',
        'untaint',
      ]);
      const pre = findPhase(plan.phases, '/workers/node-2/pre-actions')!;
      expect(pre).toMatchObject({ executor: 'pre-actions', node: 'node-2', server: 'node-2', requires: [] });
      expect(pre.data).toEqual({ stage: 'preUpgrade', actions: actions!.preUpgrade });
      expect(findPhase(plan.phases, '/workers/node-2/drain')!.requires).toEqual(['/workers/node-2/pre-actions']);
      expect(findPhase(plan.phases, '/workers/node-2/post-actions')!.data).toEqual({ stage: 'postUpgrade', actions: actions!.postUpgrade });
    });

    it('gives the lead master and the other masters the same bracket', () => {
      const plan = buildUpgradePlan({ ...demo, target: { ...demo.target, nodeActions: actions } });
      expect(steps(plan, '/masters/node-1')[0]).toBe('pre-actions');
      expect(steps(plan, '/masters/node-2')).toEqual([
        'pre-actions',
        'drain',
        'system-upgrade',
        'elect',
        'health',
        'post-actions',
        'taint',
        'uncordon',
        'endpoints',
        'untaint',
      ]);
    });

    it('leaves out a stage with no actions, and both when the image declares none', () => {
      const only = buildUpgradePlan({ ...demo, target: { ...demo.target, nodeActions: { ...actions!, postUpgrade: [] } } });
      expect(steps(only, '/masters/node-2')).not.toContain('post-actions');
      expect(steps(buildUpgradePlan(demo), '/masters/node-2')).not.toContain('pre-actions');
    });
  });
});

describe('config', () => {
  describe('spec.nodeActions', () => {
    const manifest = (actions: string) =>
      `apiVersion: hoist/v1\nkind: ClusterImage\nmetadata: { name: demo, version: 2.0.0 }\nspec:\n  runtime: { package: "runtime:7.0.56-11709", etcdVersion: 3.4.23 }\n  nodeActions:\n    preUpgrade:\n${actions}`;

    it('reads commands and package hooks into the plan facts', () => {
      const m = manifestFromText(
        manifest(
          '      - { name: stop, run: "systemctl stop app", timeoutSeconds: 20 }\n      - { name: hc, package: "runtime:7.0.56-11709", hook: health }\n',
        ),
        'app.yaml',
      );
      expect(toImageFacts(m).nodeActions).toEqual({
        preUpgrade: [
          { name: 'stop', run: 'systemctl stop app', timeoutSeconds: 20 },
          { name: 'hc', package: 'runtime:7.0.56-11709', hook: 'health' },
        ],
        postUpgrade: [],
      });
    });

    it('refuses an action that is both a command and a package hook, or neither', () => {
      const problems = (actions: string): string[] => {
        try {
          manifestFromText(manifest(actions), 'app.yaml');
        } catch (err) {
          return (err as InputError).details;
        }
        return [];
      };
      expect(problems('      - { name: both, run: "true", package: "runtime:7.0.56-11709", hook: health }\n')).toEqual([
        expect.stringMatching(/spec\.nodeActions\.preUpgrade\.0: expected either run \(a command\) or package and hook/),
      ]);
      expect(problems('      - { name: none }\n')).toEqual([expect.stringMatching(/expected either run/)]);
    });
  });
});
