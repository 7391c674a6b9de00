import { describe, expect, it } from 'vitest';
import { ExitCode, HoistError, InputError } from '../../../src/errors.js';
import type { UpgradeInput } from '../../../src/plan/builder/input.js';
import { buildUpgradePlan, checkUpgradeGates } from '../../../src/plan/builder/upgrade-plan.js';
import { SCENARIOS } from './scenarios.js';

const demo = SCENARIOS['demo-3-masters']!;

function refusal(input: UpgradeInput): InputError {
  let caught: unknown;
  try {
    checkUpgradeGates(input);
  } catch (err) {
    caught = err;
  }
  expect(caught).toBeInstanceOf(InputError);
  const err = caught as InputError;
  expect(err.exitCode).toBe(ExitCode.invalidInput);
  expect(err.message).not.toContain('\n');
  expect(err.hint).toBeTruthy();
  // The builder refuses the same input before building anything.
  expect(() => buildUpgradePlan(input)).toThrow(err.message);
  return err;
}

describe('plan builder', () => {
  describe('upgrade gates', () => {
    it('accepts every expected-plan scenario', () => {
      for (const input of Object.values(SCENARIOS)) expect(() => checkUpgradeGates(input)).not.toThrow();
    });

    it('refuses an image of another application', () => {
      const err = refusal({ ...demo, target: { ...demo.target, name: 'other-app' } });
      expect(err.code).toBe('ERR_IMAGE_NAME_MISMATCH');
      expect(err.message).toBe('image is application "other-app" but the cluster runs "upgrade-demo"');
    });

    it('refuses a target that is not strictly newer', () => {
      const same = refusal({ ...demo, installed: { ...demo.installed, version: '2.0.0' } });
      expect(same.code).toBe('ERR_VERSION_NOT_NEWER');
      expect(same.message).toBe('update version (2.0.0) must be greater than the currently installed version (2.0.0)');
      const older = refusal({
        ...demo,
        installed: { ...demo.installed, version: '2.0.1' },
        target: { ...demo.target, upgradeFrom: undefined },
      });
      expect(older.code).toBe('ERR_VERSION_NOT_NEWER');
    });

    it('refuses a runtime older than the installed image runtime', () => {
      const err = refusal({ ...demo, target: { ...demo.target, runtime: 'runtime:7.0.30-11700' } });
      expect(err.code).toBe('ERR_RUNTIME_DOWNGRADE');
      expect(err.message).toContain('7.0.35-11706');
    });

    it('refuses a runtime older than one node has, naming the node', () => {
      const nodes = demo.nodes.map((n) => (n.name === 'node-2' ? { ...n, runtime: 'runtime:7.0.60-11712' } : n));
      const err = refusal({ ...demo, nodes });
      expect(err.code).toBe('ERR_RUNTIME_DOWNGRADE');
      expect(err.node).toBe('node-2');
      expect(err.message).toBe('node "node-2" runs runtime 7.0.60-11712, newer than the image\'s runtime 7.0.56-11709');
    });

    it('refuses an image whose etcd is older than the running or installed etcd, like a runtime downgrade', () => {
      const running = refusal({ ...demo, etcdVersion: '3.5.0' });
      expect(running.code).toBe('ERR_ETCD_DOWNGRADE');
      expect(running.message).toBe(`image 2.0.0 has etcd ${demo.target.etcdVersion}, older than the running etcd 3.5.0`);
      const installed = refusal({ ...demo, installed: { ...demo.installed, etcdVersion: '3.5.0' } });
      expect(installed.message).toBe(`image 2.0.0 has etcd ${demo.target.etcdVersion}, older than the installed image's etcd 3.5.0`);
      expect(() => checkUpgradeGates({ ...demo, etcdVersion: demo.target.etcdVersion })).not.toThrow();
    });

    it('orders runtime builds of one release by build number', () => {
      const err = refusal({ ...demo, installed: { ...demo.installed, runtime: 'runtime:7.0.56-11710' } });
      expect(err.code).toBe('ERR_RUNTIME_DOWNGRADE');
    });

    it('refuses an installed version outside the upgradeFrom range', () => {
      const err = refusal({ ...demo, target: { ...demo.target, upgradeFrom: '>=1.1.0 <2.0.0' } });
      expect(err.code).toBe('ERR_UPGRADE_PATH');
      expect(err.message).toBe('upgrade-demo 2.0.0 cannot upgrade from installed version 1.0.0 (allowed: >=1.1.0 <2.0.0)');
      expect(refusal({ ...demo, target: { ...demo.target, upgradeFrom: 'not a range' } }).code).toBe('ERR_UPGRADE_PATH');
    });

    it('refuses a cluster without masters', () => {
      const err = refusal({ ...demo, nodes: demo.nodes.map((n) => ({ ...n, role: 'worker' as const })) });
      expect(err.code).toBe('ERR_NO_MASTERS');
    });

    it('refuses a leader that is not a master of the inventory', () => {
      expect(refusal({ ...demo, leader: 'node-9' }).code).toBe('ERR_LEADER_UNKNOWN');
      const nodes = [...demo.nodes, { name: 'node-4', address: '127.0.0.5', role: 'worker' as const }];
      const err = refusal({ ...demo, nodes, leader: 'node-4' });
      expect(err.code).toBe('ERR_LEADER_NOT_MASTER');
      expect(err.node).toBe('node-4');
    });

    it('refuses duplicate and malformed node names, which would collide in phase ids', () => {
      expect(refusal({ ...demo, nodes: [...demo.nodes, demo.nodes[0]!] }).code).toBe('ERR_NODE_DUPLICATE');
      expect(refusal({ ...demo, nodes: [{ ...demo.nodes[0]!, name: 'a/b' }] }).code).toBe('ERR_NODE_NAME_INVALID');
    });

    it('refuses malformed versions and locators, naming the field', () => {
      const version = refusal({ ...demo, target: { ...demo.target, version: 'two' } });
      expect(version.code).toBe('ERR_VERSION_INVALID');
      expect(version.message).toContain('target.version');
      const locator = refusal({ ...demo, target: { ...demo.target, systemApps: ['dns-app'] } });
      expect(locator.code).toBe('ERR_LOCATOR_INVALID');
      expect(locator.message).toContain('target.systemApps[0]');
      expect(refusal({ ...demo, etcdVersion: 'latest' }).code).toBe('ERR_VERSION_INVALID');
    });

    it('refuses bad concurrency limits', () => {
      expect(refusal({ ...demo, parallel: 0 }).code).toBe('ERR_PARALLEL_INVALID');
      expect(refusal({ ...demo, parallel: 1.5 }).code).toBe('ERR_PARALLEL_INVALID');
      expect(refusal({ ...demo, maxUnavailableWorkers: 0 }).code).toBe('ERR_MAX_UNAVAILABLE_INVALID');
      expect(refusal({ ...demo, maxUnavailableWorkers: '0%' }).code).toBe('ERR_MAX_UNAVAILABLE_INVALID');
      expect(refusal({ ...demo, maxUnavailableWorkers: '150%' }).code).toBe('ERR_MAX_UNAVAILABLE_INVALID');
      expect(refusal({ ...demo, maxUnavailableWorkers: 'half' }).code).toBe('ERR_MAX_UNAVAILABLE_INVALID');
    });

    it('raises coded hoist errors, not plain ones', () => {
      expect(HoistError.isHoistError(refusal({ ...demo, leader: 'node-9' }))).toBe(true);
    });
  });
});
