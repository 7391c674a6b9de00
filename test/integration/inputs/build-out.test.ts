/**
 * `image build --out` never removes anything it did not create: the source tree, a folder holding
 * it, the working directory, an unrelated folder or file are all refused (exit 2) and left intact,
 * and an earlier build output is replaced only with --force.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BOUNDS, errorLine, hasStack, REPO, runHoist, scratch, snapshot } from './hostile.js';

describe('image build --out refuses to destroy what it did not build', () => {
  let root: string;
  let src: string;
  let before: Record<string, string>;

  beforeAll(async () => {
    root = await scratch('build-out');
    src = path.join(root, 'work', 'src');
    await fs.cp(path.join(REPO, 'fixtures', 'images', 'upgrade-demo-2.0.0'), src, { recursive: true });
    await fs.mkdir(path.join(root, 'unrelated', 'keep'), { recursive: true });
    await fs.writeFile(path.join(root, 'unrelated', 'keep', 'notes.txt'), 'precious\n');
    await fs.writeFile(path.join(root, 'file.tar.gz'), 'not an image\n');
    await fs.writeFile(path.join(root, 'work', 'other.txt'), 'also precious\n');
    before = await snapshot(root);
  });
  afterAll(() => fs.rm(root, { recursive: true, force: true }));

  const cases: [string, () => { cwd: string; out: string; src: string }][] = [
    ['the current directory (.)', () => ({ cwd: src, out: '.', src: '.' })],
    ['the source directory', () => ({ cwd: root, out: src, src })],
    ['a parent of the source directory', () => ({ cwd: root, out: path.dirname(src), src })],
    ['a parent of the current directory', () => ({ cwd: src, out: '..', src: '.' })],
    ['an existing unrelated directory', () => ({ cwd: root, out: path.join(root, 'unrelated'), src })],
    ['an existing file', () => ({ cwd: root, out: path.join(root, 'file.tar.gz'), src })],
  ];
  for (const [what, make] of cases) {
    it(`refuses ${what} and leaves every byte as it was`, async () => {
      const c = make();
      const run = await runHoist(['image', 'build', c.src, '--out', c.out], {
        cwd: c.cwd,
        env: { HOIST_STATE_DIR: path.join(root, '..', `${path.basename(root)}-state`) },
      });
      expect(run.code, run.stderr).toBe(2);
      expect(errorLine(run)).toMatch(/^error\[ERR_IMAGE_OUT_REFUSED\]: --out .+: /);
      expect(hasStack(run.stderr)).toBe(false);
      expect(run.ms).toBeLessThan(BOUNDS.ms);
      expect(await snapshot(root)).toEqual(before);
    });
  }

  it('replaces an earlier build output only with --force', async () => {
    const out = await scratch('build-out-ok');
    try {
      const image = path.join(out, 'image.tar.gz');
      const first = await runHoist(['image', 'build', src, '--out', image], { cwd: out });
      expect(first.code, first.stderr).toBe(0);
      const again = await runHoist(['image', 'build', src, '--out', image], { cwd: out });
      expect(again.code).toBe(2);
      expect(errorLine(again)).toContain('already holds a built image');
      const forced = await runHoist(['image', 'build', src, '--out', image, '--force'], { cwd: out });
      expect(forced.code, forced.stderr).toBe(0);
      const dir = path.join(out, 'image-dir');
      expect((await runHoist(['image', 'build', src, '--out', dir], { cwd: out })).code).toBe(0);
      expect((await runHoist(['image', 'build', src, '--out', dir, '--force'], { cwd: out })).code).toBe(0);
      expect(await snapshot(root)).toEqual(before);
    } finally {
      await fs.rm(out, { recursive: true, force: true });
    }
  });
});
