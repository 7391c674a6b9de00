import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeEach, describe, expect, it } from 'vitest';
import { openImage } from '../../../src/image/open.js';
import { runCli } from '../../helpers/run-cli.js';

const STATE = 'fixtures/clusters/os-3-masters-2-workers/state.yaml';
const OS_IMAGE = 'fixtures/images/upgrade-demo-1.1.0';
let stateDir: string;
let work: string;
beforeEach(() => {
  stateDir = mkdtempSync(join(tmpdir(), 'hoist-cli-'));
  work = mkdtempSync(join(tmpdir(), 'hoist-os-'));
});
const cli = (...args: string[]) => runCli(args, { stateDir });

interface JsonPhase {
  id: string;
  node: string;
  requires: string[];
  phases?: JsonPhase[];
}

describe('cli › OS image upgrades', () => {
  it('image build carries the OS package and verifies it like every package', { timeout: 60_000 }, async () => {
    const out = join(work, 'img');
    const r = await cli('image', 'build', OS_IMAGE, '--out', out);
    expect(r.code).toBe(0);
    const image = await openImage(out);
    try {
      expect(image.findPackage('sandbox-os:2.2.0')?.labels).toEqual({ purpose: 'os' });
      expect(image.manifest.spec.os?.assessment.timeoutSeconds).toBe(60);
      await image.verify();
    } finally {
      await image.close();
    }
  });

  it('image build refuses an image whose OS package is missing, naming spec.os.package', { timeout: 60_000 }, async () => {
    const src = join(work, 'src');
    cpSync(OS_IMAGE, src, { recursive: true });
    rmSync(join(src, 'packages', 'sandbox-os-2.2.0'), { recursive: true });
    const r = await cli('image', 'build', src, '--out', join(work, 'img'));
    expect(r.code).toBe(3);
    expect(r.stderr).toContain('spec.os.package');
  });

  it('upgrade --dry-run --state plans reboot and assessment per node, masters one at a time', { timeout: 60_000 }, async () => {
    const r = await cli('upgrade', '--dry-run', '--state', STATE, OS_IMAGE, '-o', 'json');
    expect(r.code).toBe(0);
    const doc = JSON.parse(r.stdout) as { phases: JsonPhase[] };
    const group = (id: string) => doc.phases.find((p) => p.id === id)!;
    const ids = (p: JsonPhase) => (p.phases ?? []).map((c) => c.id.split('/').at(-1));
    const masters = group('/masters').phases!;
    expect(masters.map((m) => m.id)).toEqual(['/masters/node-1', '/masters/node-2', '/masters/node-3']);
    expect(masters[1]!.requires).toEqual(['/masters/node-1']);
    expect(ids(masters[0]!)).toEqual([
      'kubelet-permissions',
      'stepdown',
      'drain',
      'os-upgrade',
      'boot-assessment',
      'elect',
      'health',
      'taint',
      'uncordon',
      'untaint',
    ]);
    const worker = group('/workers').phases![0]!;
    expect(ids(worker)).toEqual(['drain', 'os-upgrade', 'boot-assessment', 'health', 'taint', 'uncordon', 'endpoints', 'untaint']);
    // The reboot runs on the node itself; the runtime does not change, so no system-upgrade.
    expect(worker.phases!.find((p) => p.id.endsWith('/os-upgrade'))!.node).toBe('node-4');
    const text = await cli('upgrade', '--dry-run', '--state', STATE, OS_IMAGE);
    expect(text.stdout).toContain('Upgrade the OS of node "node-1" and reboot it');
    expect(text.stdout).toContain('Assess the boot of node "node-5"');
  });

  it('plans nothing for the OS of nodes that already run the target release', { timeout: 60_000 }, async () => {
    const r = await cli(
      'upgrade',
      '--dry-run',
      '--state',
      'fixtures/clusters/demo-3-masters/state.yaml',
      'fixtures/images/upgrade-demo-2.0.0',
      '-o',
      'json',
    );
    expect(r.code).toBe(0);
    expect(r.stdout).not.toContain('os-upgrade');
  });
});
