import { cp, mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tar from 'tar';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolveImageArg } from '../../../src/config/load.js';
import { fixture, inputError } from './helpers.js';

describe('config', () => {
  describe('resolveImageArg', () => {
    let tmp: string;
    const image = fixture('images/upgrade-demo-2.0.0');

    beforeAll(async () => {
      tmp = await mkdtemp(join(tmpdir(), 'hoist-image-'));
    });
    afterAll(() => rm(tmp, { recursive: true, force: true }));

    it('reads a .tar with app.yaml at the archive root', async () => {
      const archive = join(tmp, 'root.tar');
      await tar.c({ file: archive, cwd: image }, ['.']);
      const loaded = await resolveImageArg(archive);
      expect(loaded.source).toEqual({ kind: 'archive', path: archive, entry: 'app.yaml' });
      expect(loaded.manifestFile).toBe(`${archive}!app.yaml`);
      expect(loaded.manifest.metadata).toEqual({ name: 'upgrade-demo', version: '2.0.0' });
    });

    it('reads a .tar.gz with app.yaml under a single top-level directory, unpacking nothing', async () => {
      const archive = join(tmp, 'nested.tar.gz');
      await tar.c({ file: archive, gzip: true, cwd: fixture('images') }, ['upgrade-demo-2.0.0']);
      const before = await readdir(tmp);
      const loaded = await resolveImageArg(archive);
      expect(loaded.source).toEqual({ kind: 'archive', path: archive, entry: 'upgrade-demo-2.0.0/app.yaml' });
      expect(loaded.manifest.spec.runtime.package).toBe('runtime:7.0.56-11709');
      expect(await readdir(tmp)).toEqual(before);
    });

    it('reads a .tgz', async () => {
      const archive = join(tmp, 'image.tgz');
      await tar.c({ file: archive, gzip: true, cwd: fixture('images') }, ['upgrade-demo-2.1.0']);
      const loaded = await resolveImageArg(archive);
      expect(loaded.manifest.metadata.version).toBe('2.1.0');
    });

    it('refuses an archive without app.yaml at the root or under one top-level directory', async () => {
      const archive = join(tmp, 'two-dirs.tar');
      await tar.c({ file: archive, cwd: fixture('images') }, ['upgrade-demo-1.0.0', 'upgrade-demo-2.0.0']);
      const err = await inputError(resolveImageArg(archive));
      expect(err.code).toBe('ERR_INPUT_NOT_FOUND');
      expect(err.message).toBe(`${archive}: no app.yaml at the archive root or under a single top-level directory`);
    });

    it('refuses a file that is not a tar archive', async () => {
      const archive = join(tmp, 'junk.tar.gz');
      await writeFile(archive, 'not an archive at all');
      const err = await inputError(resolveImageArg(archive));
      expect(err.code).toBe('ERR_IMAGE_ARCHIVE');
      expect(err.message).toMatch(new RegExp(`^${archive.replace(/[.]/g, '\\.')}: not a readable tar archive: `));
    });

    it('names the archive entry and line of a bad manifest inside an archive', async () => {
      const dir = join(tmp, 'bad-image');
      await mkdir(dir);
      await writeFile(
        join(dir, 'app.yaml'),
        'apiVersion: hoist/v1\nkind: ClusterImage\nmetadata: { name: demo, version: latest }\nspec:\n  runtime: { package: "runtime:7.0.56-11709", etcdVersion: 3.4.23 }\n',
      );
      const archive = join(tmp, 'bad-image.tar');
      await tar.c({ file: archive, cwd: tmp }, ['bad-image']);
      const err = await inputError(resolveImageArg(archive));
      expect(err.details).toEqual([
        `${archive}!bad-image/app.yaml:3: metadata.version: expected a semver version like 2.0.0, got "latest"`,
      ]);
    });

    it('requires the hook files a manifest names, in a directory and in an archive', async () => {
      const dir = fixture('invalid/missing-hook-image');
      const err = await inputError(resolveImageArg(dir));
      expect(err.details).toEqual([
        `${dir}/app.yaml:10: spec.hooks.postUpdate: file hooks/post-update.yaml not found in the image; expected a hook Job manifest`,
      ]);
      const archive = join(tmp, 'missing-hook.tar.gz');
      await tar.c({ file: archive, gzip: true, cwd: dir }, ['app.yaml', 'hooks']);
      const fromArchive = await inputError(resolveImageArg(archive));
      expect(fromArchive.details).toEqual([
        `${archive}!app.yaml:10: spec.hooks.postUpdate: file hooks/post-update.yaml not found in the image; expected a hook Job manifest`,
      ]);
    });

    it('refuses a bare app.yaml unless allowed, hinting --dry-run and --state', async () => {
      const manifest = join(image, 'app.yaml');
      const err = await inputError(resolveImageArg(manifest));
      expect(err.code).toBe('ERR_INPUT_BARE_MANIFEST');
      expect(err.message).toBe(`${manifest}: a bare manifest cannot be installed; an image directory or archive is needed`);
      expect(err.hint).toContain('--dry-run');
      expect(err.hint).toContain('--state');

      const loaded = await resolveImageArg(manifest, { allowBareManifest: true });
      expect(loaded.source).toEqual({ kind: 'manifest', path: manifest });
      expect(loaded.manifest.metadata.version).toBe('2.0.0');
    });

    it('refuses a directory without app.yaml', async () => {
      const dir = join(tmp, 'empty-dir');
      await mkdir(dir);
      const err = await inputError(resolveImageArg(dir));
      expect(err.code).toBe('ERR_INPUT_NOT_FOUND');
      expect(err.message).toBe(`${dir}: image directory has no app.yaml`);
    });

    it('refuses a missing path and an unknown file type', async () => {
      const missing = join(tmp, 'nope');
      expect((await inputError(resolveImageArg(missing))).message).toBe(`${missing}: image not found`);
      const zip = join(tmp, 'image.zip');
      await cp(join(image, 'app.yaml'), zip);
      const err = await inputError(resolveImageArg(zip, { allowBareManifest: true }));
      expect(err.code).toBe('ERR_INPUT_IMAGE_FORMAT');
    });
  });
});
