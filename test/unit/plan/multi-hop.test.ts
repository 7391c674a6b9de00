import { describe, expect, it } from 'vitest';
import { InputError } from '../../../src/errors.js';
import type { ImageFacts, UpgradeInput } from '../../../src/plan/builder/input.js';
import { buildUpgradePlan } from '../../../src/plan/builder/upgrade-plan.js';
import { findPhase, leaves } from '../../../src/plan/query.js';
import type { Plan } from '../../../src/plan/types.js';
import { DEMO_V2, DEMO_V2_1_VIA_V2, SCENARIOS } from './scenarios.js';

const multi = SCENARIOS['multi-hop']!;
const top = (plan: Plan): string[] => plan.phases.map((p) => p.id);
const kids = (plan: Plan, id: string): string[] => (findPhase(plan.phases, id)?.phases ?? []).map((p) => p.id);

function refused(input: UpgradeInput): InputError {
  try {
    buildUpgradePlan(input);
  } catch (err) {
    expect(err).toBeInstanceOf(InputError);
    return err as InputError;
  }
  throw new Error('the plan was built');
}

describe('plan builder', () => {
  describe('multi-hop upgrades', () => {
    it('steps through the embedded version in its own group, then /target, each requiring the one before', () => {
      const plan = buildUpgradePlan(multi);
      expect(top(plan)).toEqual(['/init', '/checks', '/pre-update', '/2.0.0', '/target', '/migration', '/app', '/gc']);
      expect(findPhase(plan.phases, '/2.0.0')!.requires).toEqual(['/checks', '/pre-update']);
      expect(findPhase(plan.phases, '/target')!.requires).toEqual(['/2.0.0']);
      expect(kids(plan, '/2.0.0')).toEqual(['/2.0.0/bootstrap', '/2.0.0/masters', '/2.0.0/workers', '/2.0.0/config']);
      expect(kids(plan, '/target')).toEqual([
        '/target/bootstrap',
        '/target/coredns',
        '/target/masters',
        '/target/workers',
        '/target/etcd',
        '/target/config',
        '/target/runtime',
      ]);
    });

    it('updates each node from the runtime the previous stage left', () => {
      const plan = buildUpgradePlan(multi);
      const data = (id: string) => findPhase(plan.phases, id)!.data;
      expect(data('/2.0.0/masters/node-2/system-upgrade')).toEqual({ from: 'runtime:7.0.35-11706', to: 'runtime:7.0.56-11709' });
      expect(data('/target/workers/node-5/system-upgrade')).toEqual({ from: 'runtime:7.0.56-11709', to: 'runtime:7.0.60-11712' });
      expect(data('/2.0.0/bootstrap/node-4')).toEqual({ leader: false, runtime: 'runtime:7.0.56-11709' });
    });

    it('threads the etcd version through the hops: etcd moves in the stage that changes it, once', () => {
      const hopMovesEtcd: ImageFacts = {
        ...DEMO_V2_1_VIA_V2,
        upgradeVia: [{ ...DEMO_V2_1_VIA_V2.upgradeVia![0]!, etcdVersion: '3.5.0' }],
      };
      const plan = buildUpgradePlan({ ...multi, target: hopMovesEtcd });
      expect(kids(plan, '/2.0.0')).toContain('/2.0.0/etcd');
      expect(kids(plan, '/target')).not.toContain('/target/etcd');
      expect(findPhase(plan.phases, '/2.0.0/etcd/upgrade/node-1')!.data).toEqual({ from: '3.4.23', to: '3.5.0' });
    });

    it('skips hops at or below the installed version and plans directly when the image accepts it', () => {
      const plan = buildUpgradePlan({ ...multi, installed: DEMO_V2 });
      expect(top(plan)).not.toContain('/2.0.0');
      expect(top(plan)).not.toContain('/target');
      expect(top(plan)).toContain('/masters');
    });

    it('leaves out of a hop the nodes already past it', () => {
      const nodes = multi.nodes.map((n) => (n.name === 'node-5' ? { ...n, runtime: 'runtime:7.0.60-11712' } : n));
      const plan = buildUpgradePlan({ ...multi, nodes });
      expect(kids(plan, '/2.0.0/workers')).toEqual(['/2.0.0/workers/node-4']);
      expect(kids(plan, '/target/workers')).toEqual(['/target/workers/node-4']);
    });

    it('refuses an image without the hop, naming the versions it would need', () => {
      const err = refused({ ...multi, target: { ...DEMO_V2_1_VIA_V2, upgradeVia: [] } });
      expect(err.code).toBe('ERR_UPGRADE_PATH');
      expect(err.message).toBe('upgrade-demo 2.1.0 cannot upgrade from installed version 1.0.0 (allowed: >=2.0.0 <2.1.0)');
      expect(err.hint).toContain(
        'an intermediate version of "upgrade-demo" that upgrades from 1.0.0 and that 2.1.0 (>=2.0.0 <2.1.0) accepts',
      );
      expect(err.hint).toContain('--upgrade-via');
    });

    it('refuses a chain with a gap, naming how far the embedded hops reach', () => {
      const hop = { ...DEMO_V2_1_VIA_V2.upgradeVia![0]!, upgradeFrom: '>=1.5.0 <2.0.0' };
      const err = refused({ ...multi, target: { ...DEMO_V2_1_VIA_V2, upgradeVia: [hop] } });
      expect(err.message).toBe(
        'upgrade-demo 2.1.0 cannot upgrade from installed version 1.0.0 (allowed: >=2.0.0 <2.1.0); its intermediate versions (2.0.0) lead no further than 1.0.0, which 2.0.0 (>=1.5.0 <2.0.0) does not accept',
      );
    });

    it('refuses an intermediate version listed twice', () => {
      const hop = DEMO_V2_1_VIA_V2.upgradeVia![0]!;
      expect(refused({ ...multi, target: { ...DEMO_V2_1_VIA_V2, upgradeVia: [hop, hop] } }).message).toContain('listed twice');
    });

    it('gives every leaf an executor and keeps leaf ids unique across stages', () => {
      const ids = leaves(buildUpgradePlan(multi).phases).map((l) => l.id);
      expect(new Set(ids).size).toBe(ids.length);
    });
  });
});
