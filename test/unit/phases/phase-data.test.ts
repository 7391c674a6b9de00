/**
 * The builder, the phase-data table and the executor registry agree: every key the builder emits
 * has an executor, and every executor's schema accepts the data the builder gives it.
 */
import { readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { loadClusterState, loadImageManifest } from '../../../src/config/load.js';
import { clusterStateToInput } from '../../../src/config/upgrade-input.js';
import { HoistError } from '../../../src/errors.js';
import { describePlan } from '../../../src/phases/describe.js';
import { EXECUTORS, phaseRegistry } from '../../../src/phases/index.js';
import { buildUpgradePlan } from '../../../src/plan/builder/upgrade-plan.js';
import { validatePlan } from '../../../src/plan/builder/validate.js';
import { EXECUTOR_KEYS, isExecutorKey, PHASE_DATA, parsePhaseData } from '../../../src/plan/phase-data.js';
import { leaves } from '../../../src/plan/query.js';
import type { Plan } from '../../../src/plan/types.js';
import type { OperationRecord } from '../../../src/store/store.js';
import { fixture } from '../config/helpers.js';
import { SCENARIOS } from '../plan/scenarios.js';

/** Plans of the expected-plan scenarios and of every fixture cluster upgraded to every fixture image it accepts. */
async function fixturePlans(): Promise<Map<string, Plan>> {
  const plans = new Map<string, Plan>();
  for (const [name, input] of Object.entries(SCENARIOS)) plans.set(`scenario ${name}`, buildUpgradePlan(input));
  for (const cluster of readdirSync(fixture('clusters'))) {
    const state = await loadClusterState(fixture(`clusters/${cluster}/state.yaml`));
    for (const image of readdirSync(fixture('images'))) {
      const target = await loadImageManifest(fixture(`images/${image}/app.yaml`));
      const input = clusterStateToInput(state, target, { operationId: `op-${cluster}`, createdAt: '2024-01-02T03:04:05.000Z' });
      try {
        plans.set(`${cluster} → ${image}`, buildUpgradePlan(input));
      } catch (err) {
        // A gate refusing the pair (an older image, a forbidden path) is an input error, never a bad plan.
        if (!(HoistError.isHoistError(err) && err.exitCode === 3)) throw err;
      }
    }
  }
  return plans;
}

const operation = (plan: Plan): OperationRecord => ({
  id: plan.operationId,
  type: 'upgrade',
  cluster: plan.cluster,
  state: 'in_progress',
  from: plan.from,
  to: plan.to,
  image: 'upgrade-demo',
  mode: 'manual',
  created: plan.createdAt,
  updated: plan.createdAt,
  createdBy: { host: 'test', pid: 1, user: 'test' },
});

describe('phase data', () => {
  it('has one executor per key, and the registry serves exactly those keys', () => {
    expect(Object.keys(EXECUTORS).sort()).toEqual([...EXECUTOR_KEYS].sort());
    expect(Object.keys(PHASE_DATA)).toEqual(EXECUTOR_KEYS);
    const registry = phaseRegistry({ nodes: undefined as never, version: '', image: async () => undefined as never });
    expect(registry.keys().sort()).toEqual([...EXECUTOR_KEYS].sort());
  });

  it('every leaf the builder emits has an executor whose schema accepts its data', async () => {
    const plans = await fixturePlans();
    // Enough pairs to cover full, app-only, etcd and partly-upgraded plans.
    expect(plans.size).toBeGreaterThan(Object.keys(SCENARIOS).length);
    const emitted = new Set<string>();
    for (const [name, plan] of plans) {
      for (const leaf of leaves(plan.phases)) {
        const key = leaf.executor ?? '';
        expect(isExecutorKey(key), `${name}: ${leaf.id} names "${key}"`).toBe(true);
        if (!isExecutorKey(key)) continue;
        emitted.add(key);
        const res = parsePhaseData(key, leaf);
        expect(res.ok ? [] : res.problem.issues, `${name}: ${leaf.id}`).toEqual([]);
      }
      // Each executor reads its typed data without throwing, for every leaf.
      expect(describePlan(plan, operation(plan)).size, name).toBe(leaves(plan.phases).length);
    }
    // No table entry is dead: the builder emits every key somewhere in the fixtures.
    expect([...emitted].sort()).toEqual([...EXECUTOR_KEYS].sort());
  });

  it('refuses a built plan whose data drifted from its executor', () => {
    const plan = buildUpgradePlan(SCENARIOS['demo-3-masters']!);
    const upgrade = leaves(plan.phases).find((p) => p.executor === 'system-upgrade')!;
    const { from, ...rest } = upgrade.data!;
    upgrade.data = { ...rest, fromRuntime: from };
    const err = (() => {
      try {
        validatePlan(plan.phases);
      } catch (e) {
        return e as HoistError;
      }
      throw new Error('validatePlan accepted drifted data');
    })();
    expect(err.code).toBe('ERR_PLAN_INVALID');
    expect(err.phase).toBe(upgrade.id);
    expect(err.message).toContain('data.from');
    expect(err.message).toContain('fromRuntime');
  });

  it('refuses a leaf naming an executor that does not exist', () => {
    const plan = buildUpgradePlan(SCENARIOS['single-master']!);
    leaves(plan.phases)[0]!.executor = 'reboot';
    expect(() => validatePlan(plan.phases)).toThrow(/executor "reboot", which does not exist/);
  });
});
