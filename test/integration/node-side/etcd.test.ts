/**
 * The etcd block of an upgrade 2.0.0 → 2.1.0 (etcd 3.4.23 → 3.5.0) on a real 3-member etcd:
 * keys written before survive the backup/upgrade/restore; a group rollback of `/etcd` brings the
 * previous version back with its untouched data and all three members.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixture, NodeSideSandbox, PHASE_TIMEOUT, tearDownAndCheck } from './helpers.js';

const NODES = ['node-1', 'node-2', 'node-3'];
const KEYS: Record<string, string> = { '/demo/before/one': 'v1', '/demo/before/two': 'written before the upgrade', '/demo/other': '42' };

describe('etcd block 2.0.0 → 2.1.0', () => {
  let sb: NodeSideSandbox;

  beforeAll(async () => {
    sb = await NodeSideSandbox.up('127.0.11.2', fixture('images', 'upgrade-demo-2.0.0'));
  }, PHASE_TIMEOUT);

  afterAll(() => tearDownAndCheck(sb), PHASE_TIMEOUT);

  const keysReadable = async (): Promise<void> => {
    for (const n of NODES) for (const [key, value] of Object.entries(KEYS)) expect(await sb.etcdGet(n, key), `${key} via ${n}`).toBe(value);
  };

  it('the sandbox runs 2.0.0 with etcd 3.4.23 on three members; keys are written', { timeout: PHASE_TIMEOUT }, async () => {
    for (const n of NODES) {
      expect(await sb.installedImageVersion(n)).toBe('2.0.0');
      expect(await sb.etcdState(n)).toEqual({ version: '3.4.23', previousVersion: null, enabled: true });
    }
    for (const [key, value] of Object.entries(KEYS)) await sb.etcdctl('node-2', 'put', key, value);
    await keysReadable();
  });

  it('the plan up to /masters runs, then /etcd upgrades every member to 3.5.0 with the data restored', {
    timeout: 2 * PHASE_TIMEOUT,
  }, async () => {
    await sb.ok('upgrade', '--manual', fixture('images', 'upgrade-demo-2.1.0'));
    const before = await sb.phases();
    expect(before.has('/etcd')).toBe(true);
    await sb.execute('/init', '/checks', '/pre-update', '/bootstrap', '/coredns', '/masters');
    for (const n of NODES) expect((await sb.etcdState(n)).version).toBe('3.4.23');

    await sb.execute('/etcd');
    for (const n of NODES) {
      expect(await sb.etcdState(n)).toEqual({ version: '3.5.0', previousVersion: '3.4.23', enabled: true });
      expect(await sb.startedMembers(n)).toEqual(NODES);
      expect(await sb.health(n)).toMatchObject({
        status: 'healthy',
        version: '7.0.57-11710',
        etcd: { member: true, version: '3.5.0', healthy: true },
      });
    }
    await keysReadable();
    const phases = await sb.phases();
    for (const id of ['/etcd', '/etcd/backup', '/etcd/shutdown', '/etcd/upgrade', '/etcd/restore', '/etcd/restart'])
      expect(phases.get(id)?.state, id).toBe('completed');
  });

  it('a rollback of /etcd brings 3.4.23 back with its data on three members', { timeout: PHASE_TIMEOUT }, async () => {
    // Written to the new cluster only: the previous data dir never saw it.
    await sb.etcdctl('node-1', 'put', '/demo/after-upgrade', 'new cluster only');
    await sb.ok('plan', 'rollback', '--phase', '/etcd');
    for (const n of NODES) {
      expect(await sb.etcdState(n)).toEqual({ version: '3.4.23', previousVersion: null, enabled: true });
      expect(await sb.startedMembers(n)).toEqual(NODES);
      expect(await sb.health(n)).toMatchObject({ status: 'healthy', etcd: { member: true, version: '3.4.23', healthy: true } });
    }
    await keysReadable();
    expect(await sb.etcdGet('node-3', '/demo/after-upgrade')).toBeUndefined();
    const phases = await sb.phases();
    for (const id of ['/etcd', '/etcd/backup', '/etcd/restore', '/etcd/restart/node-1'])
      expect(phases.get(id)?.state, id).toBe('rolled_back');
    expect(phases.get('/masters')?.state).toBe('completed');
  });
});
