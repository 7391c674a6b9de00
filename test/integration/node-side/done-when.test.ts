/**
 * The issue's "Done when", as a user would type it on a fresh 3-master sandbox: a manual upgrade
 * to upgrade-demo-2.0.0, /init, /checks, /pre-update and /bootstrap, then node-1's system upgrade
 * after its predecessors (node-1 serves runtime 7.0.56-11709), then its rollback (7.0.35-11706).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixture, NodeSideSandbox, PHASE_TIMEOUT, tearDownAndCheck } from './helpers.js';

describe('done when: node-1 is upgraded and rolled back phase by phase', () => {
  let sb: NodeSideSandbox;

  beforeAll(async () => {
    sb = await NodeSideSandbox.up('127.0.14.2');
  }, PHASE_TIMEOUT);

  afterAll(() => tearDownAndCheck(sb), PHASE_TIMEOUT);

  it('node-1 serves 7.0.56-11709 after system-upgrade and 7.0.35-11706 after its rollback', { timeout: 2 * PHASE_TIMEOUT }, async () => {
    expect(await sb.health('node-1')).toMatchObject({ status: 'healthy', version: '7.0.35-11706' });
    const created = await sb.ok('upgrade', '--manual', fixture('images', 'upgrade-demo-2.0.0'));
    expect(created).toMatch(/has been created in manual mode/);

    await sb.execute('/init', '/checks', '/pre-update', '/bootstrap');
    await sb.execute('/coredns', '/masters/node-1/kubelet-permissions', '/masters/node-1/stepdown', '/masters/node-1/drain');
    await sb.execute('/masters/node-1/system-upgrade');
    expect(await sb.health('node-1')).toMatchObject({ status: 'healthy', version: '7.0.56-11709', node: 'node-1' });
    expect((await sb.phases()).get('/masters/node-1/system-upgrade')?.state).toBe('completed');

    await sb.ok('plan', 'rollback', '--phase', '/masters/node-1/system-upgrade');
    expect(await sb.health('node-1')).toMatchObject({ status: 'healthy', version: '7.0.35-11706', node: 'node-1' });
    expect((await sb.phases()).get('/masters/node-1/system-upgrade')?.state).toBe('rolled_back');
  });
});
