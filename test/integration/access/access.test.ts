/**
 * The access paths operators use, on one sandbox: nodes reached as a non-root user with
 * password-less sudo, node-2 behind its own bastion (an extra sshd), node-3 without Node.js in
 * its login environment. A manual walkthrough through /masters and a whole rollback run on it;
 * afterwards nothing hoist wrote is owned by that user. Then each access failure is refused with
 * its own code and exit 5: sudo without a password, a bastion of unknown host key, a bastion down.
 */
import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sudoersFile } from '../../../src/sandbox/login-user.js';
import { expectCleanTeardown, nodeFile, phaseStates, startCluster, type TestCluster } from '../cluster/helpers.js';

// Per run: a user is machine-wide, while other runs of this suite may share the machine.
const USER = `hoist-it-${process.pid % 100000}`;
const IMAGE_2 = 'fixtures/images/upgrade-demo-2.0.0';
const RUNTIME_1 = '7.0.35-11706';

/** Every path under `dir` whose owner is not `uid`, with its owner. */
async function ownedByOthers(dir: string, uid: number): Promise<string[]> {
  const wrong: string[] = [];
  const walk = async (d: string): Promise<void> => {
    for (const entry of await fs.readdir(d, { withFileTypes: true }).catch(() => [])) {
      const full = path.join(d, entry.name);
      const st = await fs.lstat(full).catch(() => undefined);
      if (st && st.uid !== uid) wrong.push(`${full} (uid ${st.uid})`);
      if (entry.isDirectory()) await walk(full);
    }
  };
  await walk(dir);
  return wrong;
}

async function sha256(file: string): Promise<string> {
  return createHash('sha256')
    .update(await fs.readFile(file))
    .digest('hex');
}

describe('access › non-root user with sudo, a node behind its own bastion, a node without Node.js', () => {
  let c: TestCluster;
  let uid: number;

  beforeAll(async () => {
    c = await startCluster('127.0.50.2', {
      deploy: false,
      upArgs: ['--user', USER, '--bastion-for', 'node-2', '--without-node', 'node-3'],
    });
    uid = Number((await execa('id', ['-u', USER])).stdout.trim());
  }, 400_000);

  afterAll(async () => {
    await expectCleanTeardown(c);
    expect((await execa('id', ['-u', USER], { reject: false })).exitCode).not.toBe(0);
    await expect(fs.stat(sudoersFile(USER))).rejects.toThrow(/ENOENT/);
  }, 400_000);

  it('creates the user with password-less sudo and writes an inventory that logs in as it', async () => {
    expect(uid).toBeGreaterThan(0);
    expect(await fs.readFile(sudoersFile(USER), 'utf8')).toContain(`${USER} ALL=(root) NOPASSWD: ALL`);
    const yaml = await fs.readFile(c.clusterFile, 'utf8');
    expect(yaml).toContain(`user: ${USER}`);
    expect(yaml).toMatch(/name: node-2, .*ssh: \{ bastion: \{ address: 127\.0\.50\.5, port: 22 \} \}/);
    // node-3's login environment really has no node; the others' has.
    const ssh = (address: string) =>
      execa('ssh', [
        '-i',
        c.record.identityFile,
        '-o',
        `UserKnownHostsFile=${c.record.knownHostsFile}`,
        '-o',
        'BatchMode=yes',
        `${USER}@${address}`,
        'command -v node || echo none',
      ]);
    expect((await ssh('127.0.50.4')).stdout.trim()).toBe('none');
    expect((await ssh('127.0.50.2')).stdout.trim()).toBe('/usr/bin/node');
  });

  it('deploys the agents: node-3 gets this runtime uploaded once, and reuses it on redeploy', { timeout: 600_000 }, async () => {
    const bastionLog = c.record.bastion!.sshd.logFile;
    const deploy = await c.cli('agent', 'deploy');
    expect(deploy.code, deploy.stderr).toBe(0);
    const runtime = nodeFile(c, 'node-3', 'agent', 'node');
    const st = await fs.lstat(runtime);
    expect(st.isFile()).toBe(true);
    expect(await sha256(runtime)).toBe(await sha256(process.execPath));
    expect((await fs.lstat(nodeFile(c, 'node-1', 'agent', 'node'))).isSymbolicLink()).toBe(true);
    expect(await fs.readlink(nodeFile(c, 'node-1', 'agent', 'node'))).toBe('/usr/bin/node');

    const again = await c.cli('agent', 'deploy');
    expect(again.code, again.stderr).toBe(0);
    const after = await fs.lstat(runtime);
    expect([after.ino, after.mtimeMs]).toEqual([st.ino, st.mtimeMs]);
    const status = await c.cli('agent', 'status');
    expect(status.code, status.stderr).toBe(0);
    for (const n of ['node-1', 'node-2', 'node-3']) expect(status.stdout).toMatch(new RegExp(`^${n}\\s.*\\bDeployed\\b`, 'm'));
    // node-2 was reached through the bastion: it logged hoist's logins as that user.
    const logins = (await fs.readFile(bastionLog, 'utf8')).split('\n').filter((l) => l.includes(`Accepted publickey for ${USER}`));
    expect(logins.length).toBeGreaterThanOrEqual(3);
  });

  it('runs the walkthrough through /masters as that user, then rolls the whole operation back', { timeout: 1_800_000 }, async () => {
    const up = await c.cli('upgrade', '--manual', IMAGE_2);
    expect(up.code, up.stderr).toBe(0);
    for (const phase of [
      '/init',
      '/checks',
      '/pre-update',
      '/bootstrap',
      '/coredns',
      '/masters/node-1',
      '/masters/node-2',
      '/masters/node-3',
    ]) {
      const r = await c.cli('plan', 'execute', '--phase', phase);
      expect(r.code, `${phase}: ${r.stderr}`).toBe(0);
    }
    const states = await phaseStates(c);
    expect(states.get('/masters')).toBe('completed');

    const rollback = await c.cli('rollback', '--confirm');
    expect(rollback.code, rollback.stderr).toBe(0);
    expect(rollback.stdout).toMatch(/cluster upgrade-demo is active at 1\.0\.0/);
    for (const n of c.record.nodes) {
      const health = (await (await fetch(`http://${n.address}:7575/health`)).json()) as { version: string; status: string };
      expect([n.name, health.version, health.status]).toEqual([n.name, RUNTIME_1, 'healthy']);
    }
  });

  it('leaves nothing owned by the login user in the state dir or on the nodes', async () => {
    expect(await ownedByOthers(c.stateDir, process.getuid!())).toEqual([]);
    const staged = (await fs.readdir('/tmp')).filter((f) => f.includes('.hoist-upload-'));
    const ours = [];
    for (const f of staged) if ((await fs.lstat(path.join('/tmp', f))).uid === uid) ours.push(f);
    expect(ours).toEqual([]);
  });

  it('refuses a user without password-less sudo at agent deploy: ERR_SSH_SUDO, exit 5, no prompt', { timeout: 400_000 }, async () => {
    const file = sudoersFile(USER);
    const original = await fs.readFile(file, 'utf8');
    await fs.writeFile(file, `${USER} ALL=(root) ALL\n`, { mode: 0o440 });
    try {
      const r = await c.cli('agent', 'deploy');
      expect(r.code, r.stderr).toBe(5);
      expect(r.stderr).toMatch(
        new RegExp(
          `error\\[ERR_SSH_SUDO\\]: ${USER} on node-\\d cannot run commands as root: sudo asks for a password \\(sudo -n, needed for: mkdir -p `,
        ),
      );
      expect(r.stderr).toContain(`hint: give ${USER} password-less sudo on node-`);
    } finally {
      await fs.writeFile(file, original, { mode: 0o440 });
    }
  });

  it('refuses a bastion whose host key is not known: ERR_SSH_HOST_KEY_UNKNOWN, exit 5', { timeout: 400_000 }, async () => {
    const knownHosts = path.join(c.root, 'known_hosts_without_bastion');
    const lines = (await fs.readFile(c.record.knownHostsFile, 'utf8')).split('\n').filter((l) => l && !l.startsWith('127.0.50.5 '));
    await fs.writeFile(knownHosts, `${lines.join('\n')}\n`);
    const file = path.join(c.root, 'cluster-unknown-bastion.yaml');
    await fs.writeFile(file, (await fs.readFile(c.clusterFile, 'utf8')).replace(c.record.knownHostsFile, knownHosts));
    const r = await c.hoist(['-c', file, 'agent', 'deploy']);
    expect(r.code, r.stderr).toBe(5);
    expect(r.stderr).toContain(
      'error[ERR_SSH_HOST_KEY_UNKNOWN]: host key of bastion of node-2 (127.0.50.5) is not known: ED25519 key SHA256:',
    );
  });

  it('refuses a bastion that does not answer: ERR_SSH_UNREACHABLE naming it, exit 5', { timeout: 400_000 }, async () => {
    const file = path.join(c.root, 'cluster-dead-bastion.yaml');
    await fs.writeFile(file, (await fs.readFile(c.clusterFile, 'utf8')).replace('address: 127.0.50.5', 'address: 127.0.50.9'));
    const r = await c.hoist(['-c', file, 'agent', 'deploy']);
    expect(r.code, r.stderr).toBe(5);
    expect(r.stderr).toContain('error[ERR_SSH_UNREACHABLE]: cannot connect to bastion of node-2 (127.0.50.9): connection refused');
  });
});
