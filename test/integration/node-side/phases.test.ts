/**
 * Every node-side phase of an upgrade 1.0.0 → 2.0.0 on a real 3-master sandbox, one at a time:
 * executed (its effect checked on the node), rolled back (the effect undone), executed again.
 * Kubernetes-side predecessors run as they are; `/config` and `/gc`, whose predecessors are the
 * rest of the plan, run with `--force`.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exists, fixture, type IndexEntry, NodeSideSandbox, PHASE_TIMEOUT, tearDownAndCheck } from './helpers.js';

const NODES = ['node-1', 'node-2', 'node-3'] as const;
const FROM_RUNTIME = '7.0.35-11706';
const TO_RUNTIME = '7.0.56-11709';

describe('node-side phases: execute, roll back, execute again', () => {
  let sb: NodeSideSandbox;
  let opId: string;
  const installedIndex = new Map<string, IndexEntry[]>();

  beforeAll(async () => {
    sb = await NodeSideSandbox.up('127.0.10.2');
    await sb.ok('upgrade', '--manual', fixture('images', 'upgrade-demo-2.0.0'));
    opId = await sb.operationId();
    for (const n of NODES) installedIndex.set(n, await sb.packageIndex(n));
  }, PHASE_TIMEOUT);

  afterAll(() => tearDownAndCheck(sb), PHASE_TIMEOUT);

  const operationFile = (n: string) => sb.nodePath(n, 'operations', opId, 'operation.json');

  it('/init records the operation on every node; rollback forgets it', { timeout: PHASE_TIMEOUT }, async () => {
    await sb.execute('/init');
    for (const n of NODES) {
      const record = JSON.parse(await readFile(operationFile(n), 'utf8')) as Record<string, unknown>;
      expect(record).toMatchObject({ id: opId, cluster: 'upgrade-demo', from: '1.0.0', to: '2.0.0', node: n, leader: n === 'node-1' });
    }
    await sb.ok('plan', 'rollback', '--phase', '/init');
    for (const n of NODES) expect(await exists(sb.nodePath(n, 'operations', opId))).toBe(false);
    expect((await sb.phases()).get('/init')?.state).toBe('rolled_back');

    await sb.execute('/init');
    for (const n of NODES) expect(await exists(operationFile(n))).toBe(true);
    expect((await sb.phases()).get('/init')?.state).toBe('completed');
  });

  it('/checks and /pre-update pass', { timeout: PHASE_TIMEOUT }, async () => {
    await sb.execute('/checks', '/pre-update');
    const phases = await sb.phases();
    expect([phases.get('/checks')?.state, phases.get('/pre-update')?.state]).toEqual(['completed', 'completed']);
  });

  for (const n of NODES) {
    it(`/bootstrap/${n} pushes the runtime and the node config; rollback removes exactly those`, { timeout: PHASE_TIMEOUT }, async () => {
      const unpacked = (name: string, version: string) => sb.nodePath(n, 'packages', 'unpacked', name, version);
      const blob = (sha: string) => sb.nodePath(n, 'packages', 'blobs', sha);
      const before = installedIndex.get(n)!;

      await sb.execute(`/bootstrap/${n}`);
      const runtime = await sb.packageEntry(n, 'runtime', TO_RUNTIME);
      const config = await sb.packageEntry(n, `config-${n}`, '2.0.0');
      expect(runtime?.labels).toEqual({ purpose: 'runtime', 'operation-id': opId });
      expect(config?.labels).toMatchObject({ purpose: 'runtime-config', 'operation-id': opId, 'advertise-ip': sb.node(n).address });
      expect(config?.labels.installed).toBeUndefined();
      for (const [name, version] of [
        ['runtime', TO_RUNTIME],
        [`config-${n}`, '2.0.0'],
      ] as const)
        expect(await exists(unpacked(name, version)), `${name}:${version} unpacked`).toBe(true);
      expect(await exists(blob(runtime!.sha256))).toBe(true);
      expect(await exists(blob(config!.sha256))).toBe(true);
      // Nothing the node runs changed.
      expect(await sb.installedVersions(n, 'runtime')).toEqual([FROM_RUNTIME]);
      expect(await sb.currentRuntime(n)).toBe(FROM_RUNTIME);

      await sb.ok('plan', 'rollback', '--phase', `/bootstrap/${n}`);
      expect(await sb.packageIndex(n)).toEqual(before);
      expect(await exists(unpacked('runtime', TO_RUNTIME))).toBe(false);
      expect(await exists(unpacked(`config-${n}`, '2.0.0'))).toBe(false);
      expect(await exists(blob(runtime!.sha256))).toBe(false);
      expect(await exists(blob(config!.sha256))).toBe(false);
      for (const e of before) {
        expect(await exists(unpacked(e.name, e.version)), `${e.name}:${e.version} still unpacked`).toBe(true);
        expect(await exists(blob(e.sha256))).toBe(true);
      }

      await sb.execute(`/bootstrap/${n}`);
      expect((await sb.packageEntry(n, 'runtime', TO_RUNTIME))?.labels['operation-id']).toBe(opId);
      expect(await exists(unpacked(`config-${n}`, '2.0.0'))).toBe(true);
    });
  }

  it('Kubernetes-side predecessors of the first master run', { timeout: PHASE_TIMEOUT }, async () => {
    await sb.execute('/coredns', '/masters/node-1/kubelet-permissions');
    const phases = await sb.phases();
    expect([phases.get('/coredns')?.state, phases.get('/masters/node-1/kubelet-permissions')?.state]).toEqual(['completed', 'completed']);
  });

  it('/masters/node-1/stepdown clears node-1 election flag; rollback sets it again', { timeout: PHASE_TIMEOUT }, async () => {
    const [a1, a2, a3] = NODES.map((n) => sb.node(n).address) as [string, string, string];
    expect(await sb.electionFlags()).toEqual({ [a1]: 'true', [a2]: 'true', [a3]: 'true' });
    await sb.execute('/masters/node-1/stepdown');
    expect(await sb.electionFlags()).toEqual({ [a1]: 'false', [a2]: 'true', [a3]: 'true' });
    await sb.ok('plan', 'rollback', '--phase', '/masters/node-1/stepdown');
    expect(await sb.electionFlags()).toEqual({ [a1]: 'true', [a2]: 'true', [a3]: 'true' });
    await sb.execute('/masters/node-1/stepdown');
    expect(await sb.electionFlags()).toEqual({ [a1]: 'false', [a2]: 'true', [a3]: 'true' });
  });

  it('/masters/node-1/drain cordons node-1 in Kubernetes', { timeout: PHASE_TIMEOUT }, async () => {
    const unschedulable = async () => {
      const kubeconfig = path.join(sb.sandboxDir, 'kube', 'kubeconfig');
      const r = await execa('kubectl', ['--kubeconfig', kubeconfig, 'get', 'node', 'node-1', '-o', 'json']);
      return (JSON.parse(r.stdout) as { spec: { unschedulable?: boolean } }).spec.unschedulable === true;
    };
    expect(await unschedulable()).toBe(false);
    await sb.execute('/masters/node-1/drain');
    expect(await unschedulable()).toBe(true);
    expect((await sb.phases()).get('/masters/node-1/drain')?.state).toBe('completed');
  });

  it('/masters/node-1/system-upgrade switches node-1 to the new runtime; rollback switches back', { timeout: PHASE_TIMEOUT }, async () => {
    const upgraded = async () => {
      expect(await sb.health('node-1')).toMatchObject({ status: 'healthy', version: TO_RUNTIME, node: 'node-1' });
      expect(await sb.currentRuntime('node-1')).toBe(TO_RUNTIME);
      expect(await sb.installedVersions('node-1', 'runtime')).toEqual([TO_RUNTIME]);
      expect(await sb.startedMembers('node-2')).toEqual([...NODES]);
    };
    await sb.execute('/masters/node-1/system-upgrade');
    await upgraded();
    // The other masters still run the old runtime.
    for (const n of ['node-2', 'node-3']) expect((await sb.health(n)).version).toBe(FROM_RUNTIME);

    await sb.ok('plan', 'rollback', '--phase', '/masters/node-1/system-upgrade');
    expect(await sb.health('node-1')).toMatchObject({ status: 'healthy', version: FROM_RUNTIME, etcd: { member: true, healthy: true } });
    expect(await sb.currentRuntime('node-1')).toBe(FROM_RUNTIME);
    expect(await sb.installedVersions('node-1', 'runtime')).toEqual([FROM_RUNTIME]);
    for (const n of NODES) expect(await sb.startedMembers(n)).toEqual([...NODES]);
    expect((await sb.phases()).get('/masters/node-1/system-upgrade')?.state).toBe('rolled_back');

    await sb.execute('/masters/node-1/system-upgrade');
    await upgraded();
  });

  it('/masters/node-1/elect makes node-1 the only candidate; rollback restores the stepped-down flags', {
    timeout: PHASE_TIMEOUT,
  }, async () => {
    const [a1, a2, a3] = NODES.map((n) => sb.node(n).address) as [string, string, string];
    await sb.execute('/masters/node-1/elect');
    expect(await sb.electionFlags('node-3')).toEqual({ [a1]: 'true', [a2]: 'false', [a3]: 'false' });
    await sb.ok('plan', 'rollback', '--phase', '/masters/node-1/elect');
    expect(await sb.electionFlags('node-3')).toEqual({ [a1]: 'false', [a2]: 'true', [a3]: 'true' });
    await sb.execute('/masters/node-1/elect');
    expect(await sb.electionFlags('node-3')).toEqual({ [a1]: 'true', [a2]: 'false', [a3]: 'false' });
  });

  it('/masters/node-1/health passes on the upgraded node; its rollback changes nothing', { timeout: PHASE_TIMEOUT }, async () => {
    await sb.execute('/masters/node-1/health');
    await sb.ok('plan', 'rollback', '--phase', '/masters/node-1/health');
    expect(await sb.health('node-1')).toMatchObject({ status: 'healthy', version: TO_RUNTIME });
    expect(await sb.currentRuntime('node-1')).toBe(TO_RUNTIME);
    await sb.execute('/masters/node-1/health');
    expect((await sb.phases()).get('/masters/node-1/health')?.state).toBe('completed');
  });

  for (const n of NODES) {
    it(`/config/${n} moves the installed label to config-${n}:2.0.0 and back`, { timeout: PHASE_TIMEOUT }, async () => {
      // Its predecessor is the whole of /masters; only the node-side effect is under test here.
      await sb.ok('plan', 'execute', '--phase', `/config/${n}`, '--force');
      expect(await sb.installedVersions(n, `config-${n}`)).toEqual(['2.0.0']);
      await sb.ok('plan', 'rollback', '--phase', `/config/${n}`);
      expect(await sb.installedVersions(n, `config-${n}`)).toEqual(['1.0.0']);
      // Rolled back, the new config stays stored (labelled with the operation) for the next execute.
      expect((await sb.packageEntry(n, `config-${n}`, '2.0.0'))?.labels).toMatchObject({ 'operation-id': opId });
      await sb.ok('plan', 'execute', '--phase', `/config/${n}`, '--force');
      expect(await sb.installedVersions(n, `config-${n}`)).toEqual(['2.0.0']);
    });
  }

  for (const n of NODES) {
    it(`/gc/${n} records 2.0.0 as installed on ${n}; rollback puts 1.0.0 back`, { timeout: PHASE_TIMEOUT }, async () => {
      expect(await sb.installedImageVersion(n)).toBe('1.0.0');
      await sb.ok('plan', 'execute', '--phase', `/gc/${n}`, '--force');
      expect(await sb.installedImageVersion(n)).toBe('2.0.0');
      expect(await exists(sb.nodePath(n, 'operations', opId, 'scratch'))).toBe(false);
      await sb.ok('plan', 'rollback', '--phase', `/gc/${n}`);
      expect(await sb.installedImageVersion(n)).toBe('1.0.0');
      await sb.ok('plan', 'execute', '--phase', `/gc/${n}`, '--force');
      expect(await sb.installedImageVersion(n)).toBe('2.0.0');
    });
  }

  it('the plan shows every phase run here as completed', { timeout: PHASE_TIMEOUT }, async () => {
    const phases = await sb.phases();
    const ran = [
      '/init',
      '/checks',
      '/pre-update',
      '/bootstrap',
      '/coredns',
      ...['kubelet-permissions', 'stepdown', 'drain', 'system-upgrade', 'elect', 'health'].map((p) => `/masters/node-1/${p}`),
    ];
    for (const n of NODES) ran.push(`/config/${n}`, `/gc/${n}`);
    for (const id of ran) expect(phases.get(id)?.state, id).toBe('completed');
  });
});
