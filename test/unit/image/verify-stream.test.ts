/**
 * A built image archive is verified in one streaming pass: nothing is unpacked to TMPDIR, the
 * digest is the one of the same image as a directory, and an altered or missing blob is refused
 * as it is when the image is unpacked. An archive of a source tree still verifies (built first).
 */
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tar from 'tar';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { buildImage } from '../../../src/image/build.js';
import { openImage } from '../../../src/image/open.js';
import type { PackageIndex } from '../../../src/image/schema.js';
import { verifyImage } from '../../../src/image/verify.js';
import { caught } from '../../helpers/caught.js';
import { makeSource } from './helpers.js';

describe('image › verify an archive by streaming it', () => {
  let tmp: string;
  let scratch: string;
  const savedTmpdir = process.env.TMPDIR;

  beforeAll(async () => {
    tmp = await mkdtemp(join(tmpdir(), 'hoist-verify-stream-'));
    await makeSource(join(tmp, 'src'));
  });
  afterAll(() => rm(tmp, { recursive: true, force: true }));

  // os.tmpdir() reads TMPDIR on every call. A TMPDIR that does not exist fails any unpacking at
  // once (a work directory removed at close would leave no trace to look for afterwards).
  beforeEach(async () => {
    scratch = join(tmp, 'no-such-tmpdir');
    process.env.TMPDIR = scratch;
  });
  afterEach(() => {
    if (savedTmpdir === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = savedTmpdir;
  });

  /** A built image directory `name` (after `damage`), archived under one top-level folder. */
  async function archived(
    name: string,
    damage?: (dir: string, index: PackageIndex) => Promise<void>,
  ): Promise<{ dir: string; archive: string }> {
    const dir = join(tmp, name);
    await buildImage(join(tmp, 'src'), dir);
    const index = JSON.parse(await readFile(join(dir, 'packages/index.json'), 'utf8')) as PackageIndex;
    await damage?.(dir, index);
    const archive = join(tmp, `${name}.tar.gz`);
    await tar.c({ gzip: true, file: archive, cwd: tmp, portable: true }, [name]);
    return { dir, archive };
  }

  it('verifies a built archive with the digest of the same image as a directory, writing nothing to TMPDIR', async () => {
    const { dir, archive } = await archived('good');
    const verified = await verifyImage(archive);
    const opened = await openImage(dir);
    try {
      expect(verified.digest).toBe(opened.digest);
      expect(verified.index).toEqual(opened.index);
    } finally {
      await opened.close();
    }
    expect(existsSync(scratch)).toBe(false);
  });

  it('refuses a blob altered inside the archive with ERR_IMAGE_CHECKSUM, writing nothing to TMPDIR', async () => {
    const { archive } = await archived('altered', async (dir, index) => {
      const blob = join(dir, 'packages/blobs', index.packages[0]!.sha256);
      const data = await readFile(blob);
      data.writeUInt8(data.readUInt8(data.length - 1) ^ 0xff, data.length - 1);
      await writeFile(blob, data);
    });
    const err = await caught(verifyImage(archive));
    expect(err).toMatchObject({ code: 'ERR_IMAGE_CHECKSUM', exitCode: 3 });
    expect(existsSync(scratch)).toBe(false);
  });

  it('refuses an archive whose index names a blob it does not hold with ERR_IMAGE_PACKAGE_MISSING', async () => {
    const { archive } = await archived('missing', async (dir, index) => {
      await rm(join(dir, 'packages/blobs', index.packages[1]!.sha256));
    });
    const err = await caught(verifyImage(archive));
    expect(err).toMatchObject({ code: 'ERR_IMAGE_PACKAGE_MISSING', exitCode: 3 });
    expect(err.message).toContain(`${archive}: image is missing 1 package`);
  });

  it('still verifies an archive of a source tree, which has to be built first', async () => {
    const src = join(tmp, 'source-only');
    await mkdir(src);
    await makeSource(join(src, 'demo'));
    const archive = join(tmp, 'source.tar.gz');
    process.env.TMPDIR = await mkdtemp(join(tmp, 'build-'));
    await tar.c({ gzip: true, file: archive, cwd: src, portable: true }, ['demo']);
    const verified = await verifyImage(archive);
    expect(verified.index.packages.length).toBeGreaterThan(0);
    expect(verified.digest).toMatch(/^sha256:[0-9a-f]{64}$/);
  });
});
