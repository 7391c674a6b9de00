/**
 * (Run with `npm run test:upgrade-kinds`: whole upgrades take minutes.)
 * OS image upgrades on a 3-master + 2-worker sandbox: the image's OS package writes the inactive
 * slot, each node reboots (every process of it stops; it comes back with a new boot id) and
 * assesses its trial boot. An image whose assessment fails makes node-1 fall back to its old
 * slot by itself and fails the phase with the check's output; plan rollback + hoist rollback
 * bring the cluster back. A node that stays down after its reboot fails os-upgrade once the
 * image's reboot timeout passes; switched on again, it boots the trial slot and plan resume
 * finishes: every node on the new release, etcd whole, its pre/post actions run once each.
 */
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectExit, hoistIn, leaves, RUNTIME_1, type Sandbox, sandboxUp } from '../kube-side/helpers.js';

const OS_IMAGE = fileURLToPath(new URL('../../../fixtures/images/upgrade-demo-1.1.0', import.meta.url));
const FAILING_IMAGE = fileURLToPath(new URL('../../../fixtures/images/upgrade-demo-1.1.0-failing-boot', import.meta.url));

interface OsReport {
  release: string;
  bootId: string;
  activeSlot: string;
  defaultSlot: string;
  assessment: { slot: string; state: string; check?: string; output?: string } | null;
}

describe('upgrade kinds › OS image upgrade with A/B slots, reboot and boot assessment', () => {
  let sb: Sandbox;
  const report = async (node: string): Promise<OsReport> =>
    JSON.parse(await fs.readFile(path.join(sb.dir, 'nodes', node, 'var', 'lib', 'hoist', 'os', 'status.json'), 'utf8')) as OsReport;
  const bootIds = async () => Object.fromEntries(await Promise.all(sb.nodes.map(async (n) => [n.name, (await report(n.name)).bootId])));

  beforeAll(async () => {
    sb = await sandboxUp({ firstAddress: '127.0.130.2', masters: 3, workers: 2 });
    expectExit(await sb.etcdctl(['put', '/demo/os-upgrade', 'kept-across-reboots']), 0, 'etcdctl put');
  });

  afterAll(async () => {
    await sb?.down();
  });

  it('a failing boot assessment makes node-1 fall back by itself; plan rollback + hoist rollback restore the cluster', async () => {
    const before = await bootIds();
    const run = await sb.hoist(['upgrade', FAILING_IMAGE]);
    expect(run.exitCode, run.stderr).toBe(6);
    const phases = new Map(leaves((await sb.plan()).phases).map((p) => [p.id, p]));
    const failed = phases.get('/masters/node-1/boot-assessment')!;
    expect(failed.state).toBe('failed');
    expect(failed.error?.code).toBe('ERR_BOOT_ASSESSMENT_FAILED');
    expect(failed.error?.message).toContain('check "container-runtime" failed');
    expect(failed.error?.message).toContain('fell back to slot a (OS 2.0.0)');
    expect(failed.error?.message).toContain('container-runtime.service: unit not found');
    expect(phases.get('/masters/node-2/drain')!.state).toBe('unstarted');
    // The node came back on its old slot, on a boot of its own (not the trial's).
    const node1 = await report('node-1');
    expect(node1).toMatchObject({ release: '2.0.0', activeSlot: 'a', defaultSlot: 'a' });
    expect(node1.assessment).toMatchObject({ slot: 'b', state: 'failed', check: 'container-runtime' });
    expect(node1.bootId).not.toBe(before['node-1']);
    expect((await report('node-2')).bootId).toBe(before['node-2']);

    for (const phase of ['/masters/node-1/boot-assessment', '/masters/node-1/os-upgrade']) {
      expectExit(await sb.hoist(['plan', 'rollback', '--phase', phase]), 0, `plan rollback --phase ${phase}`);
    }
    expectExit(await sb.hoist(['rollback', '--confirm']), 0, 'hoist rollback --confirm');
    const status = await sb.hoist(['status', '-o', 'json']);
    expect(JSON.parse(status.stdout)).toMatchObject({ status: 'active', installedVersion: '1.0.0' });
    expect(await report('node-1')).toMatchObject({ release: '2.0.0', activeSlot: 'a', defaultSlot: 'a' });
    expect((await sb.health(sb.nodes[0]!.address)).status).toBe('healthy');
  });

  it('rolling back os-upgrade of a node that passed selects the old slot and reboots into it', async () => {
    expectExit(await sb.hoist(['upgrade', '--manual', OS_IMAGE]), 0, 'hoist upgrade --manual');
    const steps = ['/init', '/checks', '/pre-update', '/bootstrap', '/coredns'];
    steps.push(...['kubelet-permissions', 'stepdown', 'drain', 'os-upgrade', 'boot-assessment'].map((p) => `/masters/node-1/${p}`));
    for (const phase of steps) expectExit(await sb.hoist(['plan', 'execute', '--phase', phase]), 0, `plan execute --phase ${phase}`);
    const upgraded = await report('node-1');
    expect(upgraded).toMatchObject({ release: '2.2.0', activeSlot: 'b', defaultSlot: 'b' });
    for (const phase of ['/masters/node-1/boot-assessment', '/masters/node-1/os-upgrade']) {
      expectExit(await sb.hoist(['plan', 'rollback', '--phase', phase]), 0, `plan rollback --phase ${phase}`);
    }
    const back = await report('node-1');
    expect(back).toMatchObject({ release: '2.0.0', activeSlot: 'a', defaultSlot: 'a' });
    expect(back.bootId).not.toBe(upgraded.bootId);
    expectExit(await sb.hoist(['rollback', '--confirm']), 0, 'hoist rollback --confirm');
    expect((await sb.health(sb.nodes[0]!.address)).status).toBe('healthy');
  });

  it('a node that does not come back fails os-upgrade once the reboot timeout of the image passes; once it boots, plan resume finishes', async () => {
    // The same image, with a reboot bound short enough for a test.
    const image = await fs.mkdtemp(path.join(os.tmpdir(), 'hoist-os-image-'));
    await fs.cp(OS_IMAGE, image, { recursive: true });
    const manifest = path.join(image, 'app.yaml');
    await fs.writeFile(manifest, (await fs.readFile(manifest, 'utf8')).replace(/^( {2}os:.*\n)/m, '$1    rebootTimeoutSeconds: 15\n'));
    // The Elemental demo's wish: actions before the OS upgrade and after the boot, once per node.
    const record = (stage: string) => `echo "${stage} $HOIST_PHASE_ID" >> "$HOIST_STATE_DIR/node-actions.log"`;
    await fs.appendFile(
      manifest,
      `  nodeActions:\n    preUpgrade:\n      - { name: stop-app, run: '${record('pre')}' }\n    postUpgrade:\n      - { name: start-app, run: '${record('post')}' }\n`,
    );
    // node-1 goes down for its reboot and stays down: its reboot powers it off, nothing more.
    const reboot = path.join(sb.dir, 'nodes', 'node-1', 'sbin', 'reboot');
    const original = await fs.readFile(reboot, 'utf8');
    await fs.writeFile(reboot, original.replace(' sandbox reboot-node ', ' sandbox stop-node '));
    const before = await bootIds();
    const run = await sb.hoist(['upgrade', image, '--max-unavailable-workers', '2']);
    expect(run.exitCode, run.stderr).toBe(6);
    expect(run.stderr).toContain('node node-1 did not come back from its reboot within 15 s');
    const failed = leaves((await sb.plan()).phases).find((p) => p.id === '/masters/node-1/os-upgrade')!;
    expect(failed).toMatchObject({ state: 'failed', error: { code: 'ERR_NODE_REBOOT_TIMEOUT' } });
    expect(leaves((await sb.plan()).phases).find((p) => p.id === '/masters/node-2/drain')!.state).toBe('unstarted');

    // The machine is switched on again: it boots the slot it was to try once, which passes.
    await fs.writeFile(reboot, original);
    expectExit(await hoistIn(sb.stateDir, ['sandbox', 'reboot-node', 'node-1', '--dir', sb.dir]), 0, 'sandbox reboot-node');
    expectExit(await sb.hoist(['plan', 'resume']), 0, 'hoist plan resume');
    for (const n of sb.nodes) {
      const r = await report(n.name);
      expect(r, n.name).toMatchObject({ release: '2.2.0', activeSlot: 'b', defaultSlot: 'b', assessment: { slot: 'b', state: 'passed' } });
      expect(r.bootId, n.name).not.toBe(before[n.name]);
      expect((await sb.health(n.address)).version).toBe(RUNTIME_1);
    }
    for (const n of sb.nodes) {
      // node-1's actions ran once although its os-upgrade failed and was resumed.
      const group = n.name.startsWith('node-') && Number(n.name.slice(5)) <= 3 ? 'masters' : 'workers';
      const lines = (await fs.readFile(path.join(sb.dir, 'nodes', n.name, 'var', 'lib', 'hoist', 'node-actions.log'), 'utf8'))
        .trim()
        .split('\n');
      expect(lines, n.name).toEqual([`pre /${group}/${n.name}/pre-actions`, `post /${group}/${n.name}/post-actions`]);
    }
    const get = await sb.etcdctl(['get', '/demo/os-upgrade', '--print-value-only']);
    expect(get.stdout.trim()).toBe('kept-across-reboots');
    expectExit(await sb.etcdctl(['endpoint', 'health']), 0, 'etcdctl endpoint health');
    expect(JSON.parse((await sb.hoist(['status', '-o', 'json'])).stdout)).toMatchObject({ status: 'active', installedVersion: '1.1.0' });
  });
});
