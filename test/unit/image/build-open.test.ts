import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tar from 'tar';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildImage } from '../../../src/image/build.js';
import { openImage } from '../../../src/image/open.js';
import { fixture, inputError } from '../config/helpers.js';
import { makeSource, tarEntries, tree } from './helpers.js';

describe('image', () => {
  let tmp: string;
  let src: string;

  beforeAll(async () => {
    tmp = await mkdtemp(join(tmpdir(), 'hoist-image-test-'));
    src = join(tmp, 'src');
    await makeSource(src);
  });
  afterAll(() => rm(tmp, { recursive: true, force: true }));

  describe('build', () => {
    it('writes app.yaml, hooks, an index and one blob per package', async () => {
      const out = join(tmp, 'built-dir');
      const built = await buildImage(src, out);
      expect(built.index.packages.map((p) => [p.name, p.version, p.labels])).toEqual([
        ['demo', '1.2.0', { purpose: 'app' }],
        ['dns-app', '7.0.3', { purpose: 'system-app' }],
        ['runtime', '7.0.1-1', { purpose: 'runtime' }],
      ]);
      expect(await tree(out)).toEqual(
        [
          'app.yaml',
          'hooks',
          'hooks/pre-update.yaml',
          'packages',
          'packages/blobs',
          'packages/index.json',
          ...built.index.packages.map((p) => `packages/blobs/${p.sha256}`),
        ].sort(),
      );
      expect(JSON.parse(await readFile(join(out, 'packages/index.json'), 'utf8'))).toEqual(built.index);
      for (const entry of built.index.packages) {
        const blob = await readFile(join(out, 'packages/blobs', entry.sha256));
        expect(createHash('sha256').update(blob).digest('hex')).toBe(entry.sha256);
        expect(blob.length).toBe(entry.size);
      }
    });

    it('packs each package deterministically: package.yaml at the root, sorted, fixed mtime, uid/gid 0', async () => {
      const out = join(tmp, 'det-dir');
      const built = await buildImage(src, out);
      const dns = built.index.packages.find((p) => p.name === 'dns-app')!;
      const entries = await tarEntries(join(out, 'packages/blobs', dns.sha256));
      expect(entries.map((e) => e.path)).toEqual(['jobs/', 'jobs/update.yaml', 'package.yaml', 'resources.yaml']);
      for (const e of entries) {
        expect(e.uid).toBe(0);
        expect(e.gid).toBe(0);
        expect(e.mtime?.getTime()).toBe(0);
        expect(e.path.startsWith('/')).toBe(false);
      }
    });

    it('produces the same archive bytes twice', async () => {
      const a = await buildImage(src, join(tmp, 'a.tar.gz'));
      const b = await buildImage(src, join(tmp, 'b.tar.gz'));
      expect(a.sha256).toMatch(/^[0-9a-f]{64}$/);
      expect(b.sha256).toBe(a.sha256);
      expect(await readFile(join(tmp, 'a.tar.gz'))).toEqual(await readFile(join(tmp, 'b.tar.gz')));
      expect(b.index).toEqual(a.index);
      const names = (await tarEntries(join(tmp, 'a.tar.gz'))).map((e) => e.path);
      expect(names.slice(0, 4)).toEqual(['app.yaml', 'hooks/', 'hooks/pre-update.yaml', 'packages/']);
      expect(names).toContain('packages/index.json');
    });

    it('refuses a source whose app.yaml names a package with no folder, naming it', async () => {
      const broken = join(tmp, 'missing-src');
      await makeSource(broken, ['dns-app-7.0.3']);
      const out = join(tmp, 'missing-out');
      const err = await inputError(buildImage(broken, out));
      expect(err.code).toBe('ERR_IMAGE_PACKAGE_MISSING');
      expect(err.message).toBe(`${broken}: app.yaml names 1 package with no folder under packages/: dns-app:7.0.3`);
      expect(err.details).toEqual([
        `${join(broken, 'packages/dns-app-7.0.3/package.yaml')}: missing (dns-app:7.0.3, named by spec.systemApps.0)`,
      ]);
      await expect(stat(out)).rejects.toThrow();
      expect((await readdir(tmp)).filter((n) => n.startsWith('.missing-out'))).toEqual([]);
    });

    it('reports every bad package.yaml with file, line and field', async () => {
      const bad = join(tmp, 'bad-pkg-src');
      await makeSource(bad);
      await writeFile(
        join(bad, 'packages/demo-1.2.0/package.yaml'),
        'apiVersion: hoist/v1\nkind: Package\nmetadata: { name: demo, version: latest }\nhookz: {}\n',
      );
      await writeFile(
        join(bad, 'packages/runtime-7.0.1-1/package.yaml'),
        'apiVersion: hoist/v1\nkind: Package\nmetadata: { name: runtime, version: 7.0.2 }\n',
      );
      const err = await inputError(buildImage(bad, join(tmp, 'bad-pkg-out')));
      expect(err.code).toBe('ERR_IMAGE_PACKAGE_INVALID');
      const demo = join(bad, 'packages/demo-1.2.0/package.yaml');
      const runtime = join(bad, 'packages/runtime-7.0.1-1/package.yaml');
      expect(err.details).toEqual([
        `${demo}:3: metadata.version: expected a semver version like 7.0.30, got "latest"`,
        `${demo}:4: hookz: unknown key (expected one of: apiVersion, kind, metadata, labels, hooks)`,
        `${runtime}:3: metadata: folder "runtime-7.0.1-1" must be named "runtime-7.0.2"`,
      ]);
    });
  });

  describe('open', () => {
    it.each([
      ['directory', 'open-dir'],
      ['tar.gz', 'open.tar.gz'],
      ['tar', 'open.tar'],
    ])('opens a built %s and verifies every blob', async (_kind, name) => {
      const out = join(tmp, name);
      const built = await buildImage(src, out);
      const image = await openImage(out, { workDir: tmp });
      try {
        expect(image.manifest.metadata).toEqual({ name: 'demo', version: '1.2.0' });
        expect(image.index).toEqual(built.index);
        await image.verify();
        for (const entry of image.index.packages) {
          const blob = await image.readBlob(entry);
          expect(createHash('sha256').update(blob).digest('hex')).toBe(entry.sha256);
        }
        const dns = image.findPackage('dns-app:7.0.3')!;
        const dest = join(tmp, `unpacked-${name}`, 'dns-app', '7.0.3');
        await image.extractPackage(dns, dest);
        expect(await tree(dest)).toEqual(['jobs', 'jobs/update.yaml', 'package.yaml', 'resources.yaml']);
        expect(await readFile(join(dest, 'resources.yaml'), 'utf8')).toContain('7.0.3');
      } finally {
        await image.close();
      }
      if (name !== 'open-dir') expect((await readdir(tmp)).filter((n) => n.startsWith('hoist-image-'))).toEqual([]);
    });

    it('opens a source directory directly, building it on the fly', async () => {
      const image = await openImage(src, { workDir: tmp });
      try {
        expect(image.dir).not.toBe(src);
        expect(image.manifestFile).toBe(join(src, 'app.yaml'));
        expect(image.index.packages).toHaveLength(3);
        await image.verify();
      } finally {
        await image.close();
      }
      await expect(stat(image.dir)).rejects.toThrow();
    });

    it('opens a .tar.gz of a source tree under one top-level folder, building it after a safe unpack', async () => {
      const archive = join(tmp, 'source.tar.gz');
      await tar.c({ file: archive, gzip: true, cwd: tmp }, ['src']);
      const image = await openImage(archive, { workDir: tmp });
      try {
        expect(image.manifestFile).toBe(`${archive}!src/app.yaml`);
        expect(image.findPackage({ name: 'runtime', version: '7.0.1-1' })?.labels).toEqual({ purpose: 'runtime' });
        await image.verify();
      } finally {
        await image.close();
      }
      expect((await readdir(tmp)).filter((n) => n.startsWith('hoist-image-'))).toEqual([]);
    });

    it('keeps names longer than the ustar fields (pax headers) and executable bits', async () => {
      const longSrc = join(tmp, 'long-src');
      await makeSource(longSrc);
      const deep = join('d'.repeat(120), 'e'.repeat(120));
      const name = `${'f'.repeat(150)}.sh`;
      await mkdir(join(longSrc, 'packages/demo-1.2.0', deep), { recursive: true });
      await writeFile(join(longSrc, 'packages/demo-1.2.0', deep, name), '#!/bin/sh\n', { mode: 0o775 });
      const image = await openImage(longSrc, { workDir: tmp });
      try {
        const dest = join(tmp, 'long-out');
        await image.extractPackage(image.findPackage('demo:1.2.0')!, dest);
        const info = await stat(join(dest, deep, name));
        expect(info.mode & 0o777).toBe(0o755);
        expect(info.mtime.getTime()).toBe(0);
      } finally {
        await image.close();
      }
    });

    it('refuses a tampered blob with ERR_IMAGE_CHECKSUM and extracts nothing', async () => {
      const out = join(tmp, 'tampered');
      const built = await buildImage(src, out);
      const dns = built.index.packages.find((p) => p.name === 'dns-app')!;
      const blobFile = join(out, 'packages/blobs', dns.sha256);
      // Same size, other bytes: a size that differs is refused earlier, when the image is opened.
      const bytes = await readFile(blobFile);
      bytes[bytes.length - 1]! ^= 0xff;
      await writeFile(blobFile, bytes);
      const image = await openImage(out);
      const dest = join(tmp, 'tampered-dest');
      const err = await inputError(image.extractPackage(dns, join(dest, 'dns-app')));
      expect(err.code).toBe('ERR_IMAGE_CHECKSUM');
      expect(err.message).toContain('dns-app:7.0.3');
      await expect(stat(dest)).rejects.toThrow();
      expect((await inputError(image.verify())).code).toBe('ERR_IMAGE_CHECKSUM');
      expect((await inputError(image.readBlob(dns))).code).toBe('ERR_IMAGE_CHECKSUM');
    });

    it('refuses an image whose blob is missing with ERR_IMAGE_PACKAGE_MISSING', async () => {
      const out = join(tmp, 'no-blob');
      const built = await buildImage(src, out);
      const dns = built.index.packages.find((p) => p.name === 'dns-app')!;
      await rm(join(out, 'packages/blobs', dns.sha256));
      const err = await inputError(openImage(out));
      expect(err.code).toBe('ERR_IMAGE_PACKAGE_MISSING');
      expect(err.details).toEqual([`dns-app:7.0.3: blob packages/blobs/${dns.sha256} is missing`]);
    });
  });

  describe('demo fixtures', () => {
    it('opens fixtures/images/upgrade-demo-2.0.0 as a source, with every package app.yaml names', async () => {
      const image = await openImage(fixture('images/upgrade-demo-2.0.0'), { workDir: tmp });
      try {
        const names = image.index.packages.map((p) => `${p.name}:${p.version}`);
        for (const locator of [image.manifest.spec.runtime.package, ...image.manifest.spec.systemApps, 'upgrade-demo:2.0.0']) {
          expect(names).toContain(locator);
        }
        expect(image.findPackage('rbac-app:7.0.30')?.labels).toEqual({ purpose: 'system-app' });
        expect(image.findPackage('upgrade-demo:2.0.0')?.labels).toEqual({ purpose: 'app' });
        await image.verify();
      } finally {
        await image.close();
      }
    });

    it('gives an unchanged package the same blob in two images (2.0.0 and 2.0.1)', async () => {
      const a = await buildImage(fixture('images/upgrade-demo-2.0.0'), join(tmp, 'demo-2.0.0'));
      const b = await buildImage(fixture('images/upgrade-demo-2.0.1'), join(tmp, 'demo-2.0.1'));
      const sha = (index: typeof a.index, name: string): string | undefined => index.packages.find((p) => p.name === name)?.sha256;
      expect(sha(b.index, 'dns-app')).toBe(sha(a.index, 'dns-app'));
      expect(sha(b.index, 'upgrade-demo')).not.toBe(sha(a.index, 'upgrade-demo'));
    });
  });
});
