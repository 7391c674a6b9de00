import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeEach, describe, expect, it } from 'vitest';
import { openImage } from '../../../src/image/open.js';
import { runCli } from '../../helpers/run-cli.js';

const STATE = 'fixtures/clusters/demo-3-masters/state.yaml';
const V2 = 'fixtures/images/upgrade-demo-2.0.0';
const V2_1 = 'fixtures/images/upgrade-demo-2.1.0';
let stateDir: string;
let work: string;
beforeEach(() => {
  stateDir = mkdtempSync(join(tmpdir(), 'hoist-cli-'));
  work = mkdtempSync(join(tmpdir(), 'hoist-via-'));
});
const cli = (...args: string[]) => runCli(args, { stateDir });

describe('cli › image build --upgrade-via', () => {
  it('embeds the older runtime, labelled as intermediate, and records the version in app.yaml', { timeout: 60_000 }, async () => {
    const out = join(work, 'img');
    const r = await cli('image', 'build', V2_1, '--upgrade-via', V2, '--out', out);
    expect(r.stderr).toBe('');
    expect(r.stdout).toContain('(upgrades via 2.0.0)');
    const image = await openImage(out);
    try {
      expect(image.findPackage('runtime:7.0.56-11709')?.labels).toMatchObject({
        purpose: 'intermediate-upgrade',
        'intermediate-upgrade': '2.0.0',
      });
      expect(image.findPackage('runtime:7.0.57-11710')?.labels).toEqual({ purpose: 'runtime' });
      expect(image.manifest.spec.upgradeVia).toEqual([
        { version: '2.0.0', upgradeFrom: '>=1.0.0', runtime: { package: 'runtime:7.0.56-11709', etcdVersion: '3.4.23' } },
      ]);
      await image.verify();
    } finally {
      await image.close();
    }
    // The rest of the manifest stays as written, comments included.
    expect(readFileSync(join(out, 'app.yaml'), 'utf8')).toContain('# other apps updated under /app before the app itself');
  });

  it('refuses an intermediate image that is not older than the image', { timeout: 60_000 }, async () => {
    const r = await cli('image', 'build', V2, '--upgrade-via', V2_1, '--out', join(work, 'x'));
    expect(r.code).toBe(3);
    expect(r.stderr).toContain('error[ERR_IMAGE_UPGRADE_VIA]');
    expect(r.stderr).toContain('version 2.1.0 is not older than 2.0.0');
    expect(readdirSync(work)).toEqual([]);
  });
});

describe('cli › upgrade --dry-run through an intermediate version', () => {
  it('shows the hop group and the target group', { timeout: 60_000 }, async () => {
    const out = join(work, 'img');
    expect((await cli('image', 'build', V2_1, '--upgrade-via', V2, '--out', out)).code).toBe(0);
    const r = await cli('upgrade', '--dry-run', '--state', STATE, out, '-o', 'json');
    expect(r.code).toBe(0);
    const doc = JSON.parse(r.stdout) as { phases: { id: string; requires: string[] }[] };
    expect(doc.phases.map((p) => p.id)).toEqual(['/init', '/checks', '/pre-update', '/2.0.0', '/target', '/migration', '/app', '/gc']);
    const text = await cli('upgrade', '--dry-run', '--state', STATE, out);
    expect(text.stdout).toMatch(/^\* 2\.0\.0 +Upgrade to intermediate version 2\.0\.0 /m);
    expect(text.stdout).toMatch(/^\* target +Upgrade to version 2\.1\.0 /m);
    expect(readdirSync(stateDir)).toEqual([]);
  });

  it('refuses an image without the hop before anything is created, naming what it needs', { timeout: 60_000 }, async () => {
    const r = await cli('upgrade', '--dry-run', '--state', STATE, V2_1);
    expect(r.code).toBe(3);
    expect(r.stderr).toContain(
      'error[ERR_UPGRADE_PATH]: upgrade-demo 2.1.0 cannot upgrade from installed version 1.0.0 (allowed: >=2.0.0)',
    );
    expect(r.stderr).toContain('that upgrades from 1.0.0 and that 2.1.0 (>=2.0.0) accepts');
    expect(readdirSync(stateDir)).toEqual([]);
  });
});
