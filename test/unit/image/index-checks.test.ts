/**
 * A package index that disagrees with its blobs, generated here from a freshly built image: a
 * size that is not the blob's, and one name:version listed twice. Both are refused (exit 3)
 * naming the index and the package, by `image inspect` and by `upgrade --dry-run`, and the image
 * is left as it was.
 */
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildImage } from '../../../src/image/build.js';
import type { PackageIndex } from '../../../src/image/schema.js';
import { runCli } from '../../helpers/run-cli.js';
import { makeSource, tree } from './helpers.js';

const STATE = 'fixtures/clusters/demo-3-masters/state.yaml';

describe('image › index checked against its blobs', () => {
  let tmp: string;
  let src: string;
  beforeAll(async () => {
    tmp = await mkdtemp(join(tmpdir(), 'hoist-index-'));
    src = join(tmp, 'src');
    await makeSource(src);
  });
  afterAll(() => rm(tmp, { recursive: true, force: true }));

  async function damagedImage(
    name: string,
    damage: (index: PackageIndex) => void,
  ): Promise<{ dir: string; digest: () => Promise<string> }> {
    const dir = join(tmp, name);
    await buildImage(src, dir);
    const file = join(dir, 'packages/index.json');
    const index = JSON.parse(await readFile(file, 'utf8')) as PackageIndex;
    damage(index);
    await writeFile(file, JSON.stringify(index));
    const digest = async () => {
      const hash = createHash('sha256');
      for (const f of await tree(dir)) hash.update(f).update(await readFile(join(dir, f)).catch(() => Buffer.alloc(0)));
      return hash.digest('hex');
    };
    return { dir, digest };
  }

  it('refuses an index size that is not the blob size', { timeout: 30_000 }, async () => {
    let locator = '';
    const { dir, digest } = await damagedImage('size', (index) => {
      const entry = index.packages[0]!;
      locator = `${entry.name}:${entry.version}`;
      entry.size += 1;
    });
    const before = await digest();
    for (const args of [
      ['image', 'inspect', dir],
      ['upgrade', '--dry-run', '--state', STATE, dir],
    ]) {
      const r = await runCli(args, { stateDir: join(tmp, 'state') });
      expect(r.code, args.join(' ')).toBe(3);
      expect(r.stderr).toContain(`error[ERR_IMAGE_SIZE]: ${dir}: 1 package blob differ from the size in packages/index.json`);
      expect(r.stderr).toMatch(new RegExp(`${locator}: packages/index.json says \\d+ bytes, blob packages/blobs/[0-9a-f]{12}… has \\d+`));
    }
    expect(await digest()).toBe(before);
  });

  it('refuses an index that names one package twice', { timeout: 30_000 }, async () => {
    let locator = '';
    const { dir, digest } = await damagedImage('dup', (index) => {
      const entry = index.packages[0]!;
      locator = `${entry.name}:${entry.version}`;
      index.packages.push({ ...entry });
    });
    const before = await digest();
    const r = await runCli(['image', 'inspect', dir], { stateDir: join(tmp, 'state') });
    expect(r.code).toBe(3);
    expect(r.stderr).toContain(`error[ERR_IMAGE_INDEX]: ${dir}: packages/index.json names package ${locator} twice`);
    expect(await digest()).toBe(before);
  });
});
