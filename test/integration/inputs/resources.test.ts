/**
 * No input can exhaust memory, disk or time: oversized, deep or item-heavy YAML, an archive of
 * 100,000 entries and a gzip bomb are refused within bounded time and memory, huge values are
 * not echoed whole, and nothing is written outside the run's temp dir.
 */
import { execFileSync } from 'node:child_process';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BOUNDS, errorLine, hasStack, runHoist, scratch, snapshot } from './hostile.js';

const PY_TAR = `
import io, sys, tarfile
out, kind = sys.argv[1], sys.argv[2]
with tarfile.open(out, 'w:gz') as t:
    if kind == 'many':
        for i in range(100000):
            t.addfile(tarfile.TarInfo(f'img/f{i}'), io.BytesIO(b''))
    else:
        info = tarfile.TarInfo('img/zeros')
        info.size = 200 * 1024 * 1024
        class Zeros(io.RawIOBase):
            def readable(self): return True
            def readinto(self, b):
                b[:] = bytes(len(b)); return len(b)
        t.addfile(info, io.BufferedReader(Zeros()))
`;

describe('hostile inputs: resource exhaustion', () => {
  let root: string;
  let before: Record<string, string>;

  beforeAll(async () => {
    root = await scratch('resources');
    await fs.writeFile(path.join(root, 'big.yaml'), 'a'.repeat(50 * 1024 * 1024));
    await fs.writeFile(path.join(root, 'deep.yaml'), `a: ${'['.repeat(20_000)}${']'.repeat(20_000)}\n`);
    await fs.writeFile(path.join(root, 'items.yaml'), `a: [${'1,'.repeat(300_000)}1]\n`);
    await fs.writeFile(path.join(root, 'scalar.yaml'), `apiVersion: "${'x\\e[31m'.repeat(500_000)}"\n`);
    execFileSync('python3', ['-c', PY_TAR, path.join(root, 'many.tar.gz'), 'many']);
    execFileSync('python3', ['-c', PY_TAR, path.join(root, 'bomb.tar.gz'), 'bomb']);
    before = await snapshot(root);
  }, 180_000);
  afterAll(() => fs.rm(root, { recursive: true, force: true }));

  const cases: [string, string[], Record<string, string>, number, RegExp][] = [
    ['a 50 MB inventory', ['-c', 'big.yaml', 'status'], {}, 3, /big\.yaml: inventory is 50 MiB, over the 4 MiB limit/],
    ['20,000 levels of nesting', ['-c', 'deep.yaml', 'status'], {}, 3, /deep\.yaml:1: nested deeper than 64 levels/],
    ['300,000 list items', ['-c', 'items.yaml', 'status'], {}, 3, /items\.yaml:1: more than 100000 YAML items/],
    [
      'an archive of 100,000 entries',
      ['image', 'inspect', 'many.tar.gz'],
      {},
      3,
      /many\.tar\.gz: more than 10000 entries; nothing was extracted/,
    ],
    [
      'a gzip bomb',
      ['image', 'inspect', 'bomb.tar.gz'],
      { HOIST_MAX_IMAGE_BYTES: String(100 * 1024 * 1024) },
      3,
      /bomb\.tar\.gz: entry "img\/zeros" is 200 MiB|unpacks to more than 100 MiB/,
    ],
  ];
  for (const [what, args, env, code, message] of cases) {
    it(`refuses ${what} in bounded time and memory`, async () => {
      const run = await runHoist(args, { cwd: root, env, killAfterMs: 120_000 });
      expect(run.code, run.stderr).toBe(code);
      expect(run.stderr).toMatch(message);
      expect(hasStack(run.stderr)).toBe(false);
      expect(run.ms).toBeLessThan(BOUNDS.ms);
      expect(run.peakRssMb).toBeLessThan(BOUNDS.rssMb);
      const after = await snapshot(root);
      delete after.state;
      expect(after).toEqual(before);
    });
  }

  it('echoes a 4 MB scalar cut short and with its control characters escaped', async () => {
    const run = await runHoist(['-c', 'scalar.yaml', 'status'], { cwd: root });
    expect(run.code).toBe(3);
    expect(errorLine(run)).toMatch(/^error\[ERR_INPUT_INVALID\]/);
    expect(run.stderr.length).toBeLessThan(5_000);
    expect(run.stderr).not.toContain('\u001b');
    expect(run.stderr).toContain('more characters)');
  });
});
