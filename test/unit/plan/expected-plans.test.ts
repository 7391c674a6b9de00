import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { buildUpgradePlan } from '../../../src/plan/builder/upgrade-plan.js';
import { SCENARIOS } from './scenarios.js';

const FIXTURES = join(dirname(fileURLToPath(import.meta.url)), '../../../fixtures/plans');
// Regenerating is deliberate: set this, then review every diff of fixtures/plans by hand.
const WRITE = process.env.HOIST_WRITE_PLAN_FIXTURES === '1';

describe('plan builder', () => {
  describe('expected plans', () => {
    for (const [name, input] of Object.entries(SCENARIOS)) {
      it(`builds the ${name} plan exactly as stored`, () => {
        const file = join(FIXTURES, `${name}.json`);
        const plan = buildUpgradePlan(input);
        if (WRITE) writeFileSync(file, `${JSON.stringify(plan, null, 2)}\n`);
        expect(existsSync(file), `${file} is missing; generate it with HOIST_WRITE_PLAN_FIXTURES=1 and review it`).toBe(true);
        expect(plan).toStrictEqual(JSON.parse(readFileSync(file, 'utf8')));
      });
    }

    it('builds the same plan twice from the same input', () => {
      const input = SCENARIOS['etcd-change']!;
      expect(buildUpgradePlan(input)).toStrictEqual(buildUpgradePlan(input));
    });
  });
});
