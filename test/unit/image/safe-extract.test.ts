import { mkdir, mkdtemp, readFile, readlink, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tar from 'tar';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkEntries, safeExtract } from '../../../src/image/safe-extract.js';
import { inputError } from '../config/helpers.js';
import { type RawEntry, rawTar, tree } from './helpers.js';

describe('image', () => {
  describe('safeExtract', () => {
    let tmp: string;

    beforeAll(async () => {
      tmp = await mkdtemp(join(tmpdir(), 'hoist-extract-test-'));
    });
    afterAll(() => rm(tmp, { recursive: true, force: true }));

    /** Writes `buf` as an archive in a fresh folder and returns its path and a destination beside it. */
    async function archive(name: string, buf: Buffer): Promise<{ file: string; dest: string; dir: string }> {
      const dir = join(tmp, name);
      await mkdir(dir);
      const file = join(dir, `${name}.tar`);
      await writeFile(file, buf);
      return { file, dest: join(dir, 'out', 'pkg'), dir };
    }

    const safeFile: RawEntry = { path: 'package.yaml', type: 'File', data: 'kind: Package\n' };

    it.each<[string, RawEntry, string]>([
      ['dotdot', { path: '../x', type: 'File', data: 'evil' }, 'path contains ".." and could leave the extraction directory'],
      ['nested-dotdot', { path: 'a/../../x', type: 'File', data: 'evil' }, 'path contains ".." and could leave the extraction directory'],
      ['absolute', { path: '/etc/x', type: 'File', data: 'evil' }, 'absolute path'],
      ['symlink-abs', { path: 'passwd', type: 'SymbolicLink', linkpath: '/etc/passwd' }, 'link target "/etc/passwd" is an absolute path'],
      [
        'symlink-up',
        { path: 'sub/up', type: 'SymbolicLink', linkpath: '../../etc' },
        'link target "../../etc" points outside the extraction directory',
      ],
      [
        'hardlink-up',
        { path: 'h', type: 'Link', linkpath: '../outside' },
        'link target "../outside" points outside the extraction directory',
      ],
      ['hardlink-abs', { path: 'h', type: 'Link', linkpath: '/etc/passwd' }, 'link target "/etc/passwd" is an absolute path'],
      ['chardev', { path: 'null', type: 'CharacterDevice' }, 'CharacterDevice entries are not allowed (only files, directories and links)'],
      ['fifo', { path: 'pipe', type: 'FIFO' }, 'FIFO entries are not allowed (only files, directories and links)'],
    ])('refuses %s before writing anything', async (name, bad, why) => {
      // The bad entry comes last so that a streaming extractor would already have written the first.
      const { file, dest, dir } = await archive(name, rawTar([safeFile, bad]));
      const before = await tree(dir);
      const err = await inputError(safeExtract(file, dest));
      expect(err.code).toBe('ERR_IMAGE_UNSAFE_ENTRY');
      expect(err.message).toBe(`${file}: refusing unsafe entry "${bad.path}": ${why}`);
      expect(await tree(dir)).toEqual(before);
    });

    it('refuses a symlink to /etc/passwd packed by tar from a real symlink on disk', async () => {
      const src = join(tmp, 'disk-src');
      await mkdir(join(src, 'pkg'), { recursive: true });
      await writeFile(join(src, 'pkg', 'package.yaml'), 'kind: Package\n');
      await symlink('/etc/passwd', join(src, 'pkg', 'passwd'));
      const withSymlink = join(tmp, 'symlink.tar.gz');
      await tar.c({ file: withSymlink, gzip: true, cwd: join(src, 'pkg') }, ['package.yaml', 'passwd']);
      const dest = join(tmp, 'symlink-out');
      const err = await inputError(safeExtract(withSymlink, dest));
      expect(err.message).toBe(`${withSymlink}: refusing unsafe entry "passwd": link target "/etc/passwd" is an absolute path`);
      await expect(readFile(dest)).rejects.toThrow();
      expect((await tree(tmp)).filter((p) => p.includes('symlink-out'))).toEqual([]);
    });

    it('refuses a link target that walks through another symlink of the archive', async () => {
      const entries = [
        { path: 'a', type: 'SymbolicLink', linkpath: '.' },
        { path: 'b', type: 'SymbolicLink', linkpath: 'a/a/a/..' },
      ];
      expect(() => checkEntries(entries, 'x.tar')).toThrow('link target "a/a/a/.." goes through the symlink "a"');
      expect(() =>
        checkEntries(
          [
            { path: 'd', type: 'SymbolicLink', linkpath: 'sub' },
            { path: 'd/f', type: 'File' },
          ],
          'x.tar',
        ),
      ).toThrow('path goes through the symlink "d"');
    });

    it('extracts files, directories and links that stay inside, replacing the destination', async () => {
      const buf = rawTar([
        { path: 'bin/', type: 'Directory' },
        { path: 'bin/run', type: 'File', data: 'echo hi\n' },
        { path: 'lib/', type: 'Directory' },
        { path: 'lib/run', type: 'SymbolicLink', linkpath: '../bin/run' },
        { path: 'run-copy', type: 'Link', linkpath: 'bin/run' },
        safeFile,
      ]);
      const { file, dest } = await archive('good', buf);
      await mkdir(dest, { recursive: true });
      await writeFile(join(dest, 'stale'), 'from an earlier extraction');
      await safeExtract(file, dest);
      expect(await tree(dest)).toEqual(['bin', 'bin/run', 'lib', 'lib/run', 'package.yaml', 'run-copy']);
      expect(await readlink(join(dest, 'lib/run'))).toBe('../bin/run');
      expect(await readFile(join(dest, 'run-copy'), 'utf8')).toBe('echo hi\n');

      const fromMemory = join(tmp, 'memory-out');
      await safeExtract(buf, fromMemory, { label: 'in-memory.tar' });
      expect(await tree(fromMemory)).toEqual(['bin', 'bin/run', 'lib', 'lib/run', 'package.yaml', 'run-copy']);
    });

    it('names an unreadable archive with ERR_IMAGE_ARCHIVE and writes nothing', async () => {
      const { file, dest, dir } = await archive('junk', Buffer.from('not a tar archive '.repeat(64)));
      const err = await inputError(safeExtract(file, dest));
      expect(err.code).toBe('ERR_IMAGE_ARCHIVE');
      expect(err.message.startsWith(`${file}: not a readable tar archive`)).toBe(true);
      expect(await tree(dir)).toEqual(['junk.tar']);
      const fromMemory = await inputError(
        safeExtract(Buffer.from('garbage '.repeat(128)), join(dir, 'mem'), { label: 'junk-in-memory.tar' }),
      );
      expect(fromMemory.code).toBe('ERR_IMAGE_ARCHIVE');
      expect(fromMemory.message.startsWith('junk-in-memory.tar: not a readable tar archive')).toBe(true);
      expect(await tree(dir)).toEqual(['junk.tar']);
    });
  });
});
