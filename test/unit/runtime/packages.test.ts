import { promises as fs } from 'node:fs';
import path from 'node:path';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';

const root = path.resolve(import.meta.dirname, '../../..');
const fixtures = path.join(root, 'fixtures');

const HOOKS = [
  'install',
  'start',
  'stop',
  'health',
  'etcd-backup',
  'etcd-disable',
  'etcd-upgrade',
  'etcd-restore',
  'etcd-enable',
  'etcd-rollback',
  'etcd-status',
  'election-enable',
  'election-disable',
];

interface PackageManifest {
  apiVersion: string;
  kind: string;
  metadata: { name: string; version: string };
  labels: Record<string, string>;
  hooks: Record<string, { run: string; timeoutSeconds: number }>;
}

async function readManifest(dir: string): Promise<PackageManifest> {
  return parseYaml(await fs.readFile(path.join(dir, 'package.yaml'), 'utf8')) as PackageManifest;
}

describe('runtime packages', () => {
  describe('generated folders', () => {
    it('match what fixtures/runtime/generate.mjs writes from fixtures/runtime/src', async () => {
      const r = await execa(process.execPath, [path.join(fixtures, 'runtime', 'generate.mjs'), '--check'], { reject: false });
      expect(r.stderr).toBe('');
      expect(r.exitCode).toBe(0);
    });

    it('exist for the runtime each demo image names, with its etcd version', async () => {
      for (const image of ['1.0.0', '2.0.0', '2.0.1', '2.1.0']) {
        const imageDir = path.join(fixtures, 'images', `upgrade-demo-${image}`);
        const app = parseYaml(await fs.readFile(path.join(imageDir, 'app.yaml'), 'utf8')) as {
          spec: { runtime: { package: string; etcdVersion: string } };
        };
        const version = app.spec.runtime.package.replace(/^runtime:/, '');
        const dir = path.join(imageDir, 'packages', `runtime-${version}`);
        const manifest = await readManifest(dir);
        expect(manifest).toMatchObject({
          apiVersion: 'hoist/v1',
          kind: 'Package',
          metadata: { name: 'runtime', version },
          labels: { purpose: 'runtime' },
        });
        const runtime = JSON.parse(await fs.readFile(path.join(dir, 'runtime.json'), 'utf8')) as { version: string; etcdVersion: string };
        expect(runtime).toMatchObject({ version, etcdVersion: String(app.spec.runtime.etcdVersion) });
      }
    });
  });

  describe('package.yaml', () => {
    it('declares every hook as a node command in the package dir, with the timeouts runtime.json repeats', async () => {
      const dir = path.join(fixtures, 'images', 'upgrade-demo-2.0.0', 'packages', 'runtime-7.0.56-11709');
      const manifest = await readManifest(dir);
      const runtime = JSON.parse(await fs.readFile(path.join(dir, 'runtime.json'), 'utf8')) as { hookTimeouts: Record<string, number> };
      expect(Object.keys(manifest.hooks)).toEqual(HOOKS);
      for (const hook of HOOKS) {
        expect(manifest.hooks[hook]?.run).toBe(`"\${HOIST_NODE_BIN:-node}" runtime.mjs ${hook} "$@"`);
        expect(manifest.hooks[hook]?.timeoutSeconds).toBe(runtime.hookTimeouts[hook]);
      }
    });

    it('gives the broken runtime a short health timeout', async () => {
      const manifest = await readManifest(path.join(fixtures, 'packages', 'runtime-broken-7.0.99'));
      expect(manifest.metadata).toEqual({ name: 'runtime', version: '7.0.99' });
      expect(manifest.hooks.health?.timeoutSeconds).toBe(5);
    });
  });
});
