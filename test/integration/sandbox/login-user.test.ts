/**
 * The sandbox's login user against users already on the machine: one left by a sandbox whose
 * directory is gone (a run killed before its `down`) is removed and made again; any other is
 * refused and left exactly as it was.
 */
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { afterEach, describe, expect, it } from 'vitest';
import { createLoginUser, removeLoginUser, sudoersFile } from '../../../src/sandbox/login-user.js';

const NAME = `hoist-lu-${process.pid % 100000}`;

const passwd = async () => (await execa('getent', ['passwd', NAME], { reject: false })).stdout.trim();

describe('sandbox login user', () => {
  afterEach(async () => {
    await removeLoginUser({ name: NAME, home: `/home/${NAME}`, sudoers: sudoersFile(NAME) });
  });

  it('removes and makes again a user left by a sandbox whose directory is gone', async () => {
    const gone = path.join(os.tmpdir(), `hoist-gone-${process.pid}`);
    await execa('useradd', ['--create-home', '--shell', '/bin/sh', '--comment', `hoist sandbox ${gone}`, NAME]);
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'hoist-lu-'));
    const user = await createLoginUser(NAME, dir, 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIDummyKeyForTheTestOnly test');
    expect(await passwd()).toContain(`hoist sandbox ${dir}`);
    expect(await fs.readFile(user.sudoers, 'utf8')).toContain(`${NAME} ALL=(root) NOPASSWD: ALL`);
    await fs.rm(dir, { recursive: true });
  });

  it('refuses a user whose sandbox directory still exists, and one no sandbox made, changing neither', async () => {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'hoist-lu-'));
    for (const comment of [`hoist sandbox ${dir}`, 'Jane Operator']) {
      await execa('useradd', ['--create-home', '--shell', '/bin/sh', '--comment', comment, NAME]);
      const before = await passwd();
      await expect(createLoginUser(NAME, dir, 'ssh-ed25519 AAAA test')).rejects.toMatchObject({ code: 'ERR_SANDBOX_USER_EXISTS' });
      expect(await passwd()).toBe(before);
      await expect(fs.stat(sudoersFile(NAME))).rejects.toThrow(/ENOENT/);
      await execa('userdel', ['--remove', NAME]);
    }
    await fs.rm(dir, { recursive: true });
  });
});
