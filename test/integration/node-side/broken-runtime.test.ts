/**
 * An upgrade to a runtime that never turns healthy (fixtures/packages/runtime-broken-7.0.99):
 * `/masters/node-1/system-upgrade` fails on its health hook with exit 6, the plan records the
 * failure, and rolling the phase back brings node-1 back to the old runtime, healthy.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixture, NodeSideSandbox, PHASE_TIMEOUT, tearDownAndCheck } from './helpers.js';

const FROM_RUNTIME = '7.0.35-11706';
const BROKEN = '7.0.99';
const NODES = ['node-1', 'node-2', 'node-3'];

describe('a runtime that never turns healthy', () => {
  let sb: NodeSideSandbox;
  let image: string;

  beforeAll(async () => {
    sb = await NodeSideSandbox.up('127.0.13.2');
    // upgrade-demo-2.0.0 with its runtime replaced by the broken one.
    const src = path.join(sb.root, 'broken-src');
    await fs.cp(fixture('images', 'upgrade-demo-2.0.0'), src, { recursive: true });
    await fs.rm(path.join(src, 'packages', 'runtime-7.0.56-11709'), { recursive: true });
    await fs.cp(fixture('packages', 'runtime-broken-7.0.99'), path.join(src, 'packages', `runtime-${BROKEN}`), { recursive: true });
    const manifest = path.join(src, 'app.yaml');
    const text = await fs.readFile(manifest, 'utf8');
    expect(text).toContain('runtime:7.0.56-11709');
    await fs.writeFile(manifest, text.replace('runtime:7.0.56-11709', `runtime:${BROKEN}`));
    image = path.join(sb.root, 'broken-image');
    const build = await sb.hoist(['image', 'build', src, '--out', image]);
    expect(build.code, build.stderr).toBe(0);
  }, PHASE_TIMEOUT);

  afterAll(() => tearDownAndCheck(sb), PHASE_TIMEOUT);

  it('the predecessors of node-1 system-upgrade run, pushing the broken runtime', { timeout: PHASE_TIMEOUT }, async () => {
    await sb.ok('upgrade', '--manual', image);
    await sb.execute(
      '/init',
      '/checks',
      '/pre-update',
      '/bootstrap',
      '/coredns',
      '/masters/node-1/kubelet-permissions',
      '/masters/node-1/stepdown',
      '/masters/node-1/drain',
    );
    const opId = await sb.operationId();
    for (const n of NODES) {
      expect((await sb.packageEntry(n, 'runtime', BROKEN))?.labels).toMatchObject({ purpose: 'runtime', 'operation-id': opId });
    }
  });

  it('system-upgrade fails on the health hook with exit 6 and stays Failed in the plan', { timeout: PHASE_TIMEOUT }, async () => {
    const r = await sb.cli('plan', 'execute', '--phase', '/masters/node-1/system-upgrade');
    expect(r.code).toBe(6);
    expect(r.stderr).toMatch(/ERR_HOOK_(FAILED|TIMEOUT)/);
    expect(r.stderr).toContain(`hook "health" of runtime:${BROKEN}`);
    expect(r.stderr).toContain('/masters/node-1/system-upgrade');

    const phase = (await sb.phases()).get('/masters/node-1/system-upgrade');
    expect(phase?.state).toBe('failed');
    expect(JSON.stringify(phase?.error)).toContain('health');
    const table = await sb.ok('plan');
    expect(table).toMatch(/system-upgrade\s+Update system software on node "node-1"\s+Failed/);

    // The broken runtime was started, never reported healthy and was never marked installed.
    const health = await sb.health('node-1');
    expect(health.version).toBe(BROKEN);
    expect(health.status).not.toBe('healthy');
    expect(await sb.installedVersions('node-1', 'runtime')).toEqual([FROM_RUNTIME]);
  });

  it('rolling the phase back brings node-1 back to the old runtime, healthy', { timeout: PHASE_TIMEOUT }, async () => {
    await sb.ok('plan', 'rollback', '--phase', '/masters/node-1/system-upgrade');
    expect(await sb.health('node-1')).toMatchObject({ status: 'healthy', version: FROM_RUNTIME, etcd: { member: true, healthy: true } });
    expect(await sb.currentRuntime('node-1')).toBe(FROM_RUNTIME);
    expect(await sb.installedVersions('node-1', 'runtime')).toEqual([FROM_RUNTIME]);
    for (const n of NODES) expect(await sb.startedMembers(n)).toEqual(NODES);
    expect((await sb.phases()).get('/masters/node-1/system-upgrade')?.state).toBe('rolled_back');
  });
});
