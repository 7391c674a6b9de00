/**
 * The sandbox's non-root login user (`sandbox up --user NAME`): a system user with password-less
 * sudo, as operators log in to production nodes. Everything created here is recorded in
 * sandbox.json and removed by `sandbox down`: the user (and its home) only if this sandbox created
 * it, and the sudoers drop-in named after the user. An existing user is refused, never adopted,
 * unless an earlier sandbox made it and that sandbox's directory is gone (a run killed before its
 * `down`): such a user serves nobody, so it is removed and made again.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { execa } from 'execa';
import type { Logger } from 'pino';
import { ExitCode, HoistError, InputError } from '../errors.js';

/** What the sandbox created for its login user. */
export type SandboxUserRecord = {
  name: string;
  home: string;
  /** The sudoers drop-in granting it root. */
  sudoers: string;
};

const SUDOERS_DIR = '/etc/sudoers.d';
const NAME = /^[a-z_][a-z0-9_-]{0,30}$/;

/** The drop-in for `name`; sudo skips files with a dot in their name, so it has none. */
export function sudoersFile(name: string): string {
  return path.join(SUDOERS_DIR, `hoist-sandbox-${name}`);
}

/** The drop-in's text: hoist runs every privileged command as `sudo -n sh -c …`, so it needs a root shell. */
export function sudoersText(name: string, dir: string): string {
  return [
    `# Created by "hoist sandbox up --user ${name}" for ${dir}; "hoist sandbox down" removes it.`,
    '# hoist runs each privileged command as `sudo -n sh -c ...`: the user needs root without a password.',
    `${name} ALL=(root) NOPASSWD: ALL`,
    '',
  ].join('\n');
}

/** Creates the user with its authorized key and password-less sudo. */
export async function createLoginUser(name: string, dir: string, publicKey: string, log?: Logger): Promise<SandboxUserRecord> {
  if (!NAME.test(name) || name === 'root') {
    throw new InputError('ERR_SANDBOX_USER', `"${name}" is not a usable login user name for the sandbox`, {
      hint: 'pass --user with a new lowercase name such as hoist (letters, digits, "_" and "-")',
    });
  }
  if ((await execa('id', ['-u', name], { reject: false })).exitCode === 0 && !(await reclaimStaleUser(name, log))) {
    throw new InputError('ERR_SANDBOX_USER_EXISTS', `user ${name} already exists on this machine`, {
      hint: `the sandbox creates its login user and removes it on "sandbox down": run "hoist sandbox down" in the sandbox that made it, choose another --user, or remove ${name} (userdel -r ${name})`,
    });
  }
  const sudo = await ensureSudo(log);
  const home = path.join('/home', name);
  // '*' instead of useradd's locked '!': sshd refuses every login, key or not, to a locked account.
  await run('useradd', [
    '--create-home',
    '--home-dir',
    home,
    '--shell',
    '/bin/sh',
    '--password',
    '*',
    '--comment',
    `${COMMENT_PREFIX}${dir}`,
    name,
  ]);
  const record = { name, home, sudoers: sudoersFile(name) };
  try {
    await fs.mkdir(path.join(home, '.ssh'), { mode: 0o700 });
    await fs.writeFile(path.join(home, '.ssh', 'authorized_keys'), `${publicKey}\n`, { mode: 0o600 });
    await run('chown', ['-R', `${name}:${name}`, path.join(home, '.ssh')]);
    await installSudoers(record.sudoers, sudoersText(name, dir), sudo);
  } catch (err) {
    await removeLoginUser(record).catch(() => undefined);
    throw err;
  }
  log?.info({ event: 'sandbox.user', user: name }, `created login user ${name} with password-less sudo (${record.sudoers})`);
  return record;
}

const COMMENT_PREFIX = 'hoist sandbox ';

/**
 * Removes `name` when its passwd comment says a hoist sandbox created it for a directory that no
 * no longer exists; true when it did. Any other user is left alone.
 */
async function reclaimStaleUser(name: string, log?: Logger): Promise<boolean> {
  const entry = (await execa('getent', ['passwd', name], { reject: false })).stdout.trim();
  const [, , , , comment = '', home = ''] = entry.split(':');
  if (!comment.startsWith(COMMENT_PREFIX)) return false;
  const dir = comment.slice(COMMENT_PREFIX.length);
  // The directory, not its sandbox.json: a sandbox being started has the first before the second.
  if (!path.isAbsolute(dir) || (await exists(dir))) return false;
  log?.warn({ event: 'sandbox.user.stale', user: name, dir }, `user ${name} was left by a sandbox in ${dir}, which is gone: removing it`);
  await removeLoginUser({ name, home, sudoers: sudoersFile(name) }, log);
  return true;
}

async function exists(file: string): Promise<boolean> {
  return fs.stat(file).then(
    () => true,
    () => false,
  );
}

/** Removes the drop-in and the user with its home; what is already gone is skipped. */
export async function removeLoginUser(record: SandboxUserRecord, log?: Logger): Promise<void> {
  await fs.rm(record.sudoers, { force: true });
  if ((await execa('id', ['-u', record.name], { reject: false })).exitCode === 0) {
    // Its SSH sessions were stopped with the node sshds; the agent runs as root, not as this user.
    await run('userdel', ['--remove', record.name]);
  }
  log?.info({ event: 'sandbox.user.removed', user: record.name }, `removed login user ${record.name}`);
}

/** Writes the drop-in beside its final name, has visudo check it, then renames it into place. */
async function installSudoers(file: string, text: string, sudo: { visudo: string }): Promise<void> {
  const staged = `${file}.new`; // ignored by sudo while it has a dot in its name
  await fs.mkdir(path.dirname(file), { recursive: true, mode: 0o755 });
  await fs.writeFile(staged, text, { mode: 0o440 });
  const check = await execa(sudo.visudo, ['-cf', staged], { reject: false });
  if (check.exitCode !== 0) {
    await fs.rm(staged, { force: true });
    throw new HoistError('ERR_SANDBOX_SUDOERS', `visudo rejects the sandbox's sudoers drop-in ${file}`, ExitCode.unexpected, {
      details: `${check.stdout}\n${check.stderr}`.split('\n').filter(Boolean),
    });
  }
  await fs.rename(staged, file);
}

/** sudo and visudo, installing the Debian package when they are missing (as for sshd). */
async function ensureSudo(log?: Logger): Promise<{ visudo: string }> {
  const find = async () => (await execa('sh', ['-c', 'command -v visudo || ls /usr/sbin/visudo'], { reject: false })).stdout.trim();
  let visudo = await find();
  if (!visudo) {
    log?.info({ event: 'sandbox.install' }, 'sudo is missing: installing it (apt-get install -y sudo)');
    await execa('apt-get', ['install', '-y', 'sudo'], { reject: false, env: { DEBIAN_FRONTEND: 'noninteractive' } });
    visudo = await find();
  }
  if (!visudo) {
    throw new HoistError('ERR_SANDBOX_SUDO_MISSING', 'sudo is not installed and apt-get install sudo failed', ExitCode.unexpected, {
      hint: 'install sudo (apt-get install sudo), or run the sandbox without --user',
    });
  }
  return { visudo };
}

async function run(cmd: string, args: string[]): Promise<void> {
  const r = await execa(cmd, args, { reject: false });
  if (r.exitCode !== 0) {
    throw new HoistError('ERR_SANDBOX_USER_SETUP', `${cmd} ${args.join(' ')} failed (exit ${r.exitCode})`, ExitCode.unexpected, {
      details: String(r.stderr).split('\n').filter(Boolean).slice(-5),
      hint: 'the sandbox needs root to create its login user',
    });
  }
}
