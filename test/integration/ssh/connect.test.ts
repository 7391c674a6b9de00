import { promises as fs } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ExitCode } from '../../../src/errors.js';
import { type SandboxRecord, sandboxDown, sandboxUp } from '../../../src/sandbox/index.js';
import { stopSshd } from '../../../src/sandbox/sshd.js';
import { fingerprint, parseKnownHosts } from '../../../src/ssh/known-hosts.js';
import { SshPool } from '../../../src/ssh/pool.js';
import type { SshNode } from '../../../src/ssh/settings.js';
import { caught, sandboxSshds, sshdConnections } from './helpers.js';

describe('ssh › connecting: host keys, failures, bastion', () => {
  let dir: string;
  let sandbox: SandboxRecord;
  const pools: SshPool[] = [];
  /** Host key blobs of the sandbox nodes, by address, as the sandbox recorded them. */
  const hostKeys = new Map<string, Buffer>();

  function pool(overrides: Partial<ConstructorParameters<typeof SshPool>[1]> = {}, nodes: SshNode[] = sandbox.nodes): SshPool {
    const p = new SshPool(nodes, { identityFile: sandbox.identityFile, knownHostsFile: sandbox.knownHostsFile, ...overrides });
    pools.push(p);
    return p;
  }

  beforeAll(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'hoist-connect-'));
    sandbox = await sandboxUp({ dir, masters: 2, workers: 1, firstAddress: '127.0.1.30' });
    for (const entry of parseKnownHosts(await fs.readFile(sandbox.knownHostsFile, 'utf8'))) hostKeys.set(entry.patterns![0]!, entry.key);
  });

  afterAll(async () => {
    await Promise.all(pools.map((p) => p.closeAll()));
    await sandboxDown({ dir });
    await fs.rm(dir, { recursive: true, force: true }); // when sandboxUp itself failed
    expect(await sandboxSshds(dir)).toEqual([]);
  });

  describe('host keys', () => {
    it('connects when known_hosts holds the key as a hashed entry', async () => {
      const file = path.join(dir, 'hashed_known_hosts');
      await fs.copyFile(sandbox.knownHostsFile, file);
      await execa('ssh-keygen', ['-H', '-f', file]);
      expect(await fs.readFile(file, 'utf8')).toMatch(/^\|1\|/);
      const r = await pool({ knownHostsFile: file }).get('node-1').exec('echo ok');
      expect(r.stdout).toBe('ok\n');
    });

    it('refuses an unknown host, showing its fingerprint', async () => {
      const file = path.join(dir, 'empty_known_hosts');
      await fs.writeFile(file, '');
      const err = await caught(pool({ knownHostsFile: file }).get('node-2').exec('true'));
      expect(err.code).toBe('ERR_SSH_HOST_KEY_UNKNOWN');
      expect(err.exitCode).toBe(ExitCode.unreachable);
      expect(err.message).toBe(`host key of node-2 (127.0.1.31) is not known: ED25519 key ${fingerprint(hostKeys.get('127.0.1.31')!)}`);
      expect(err.hint).toBe('verify the fingerprint, then re-run with --accept-new-host-keys to record it');
      expect(await fs.readFile(file, 'utf8')).toBe('');
    });

    it('records a new host key once with acceptNewHostKeys, even for parallel connects', async () => {
      const file = path.join(dir, 'accept_known_hosts');
      await fs.writeFile(file, '# operator notes\n');
      const first = pool({ knownHostsFile: file, acceptNewHostKeys: true });
      const second = pool({ knownHostsFile: file, acceptNewHostKeys: true });
      await Promise.all([first.get('node-2').exec('true'), second.get('node-2').exec('true')]);
      await pool({ knownHostsFile: file }).get('node-2').exec('true');
      const lines = (await fs.readFile(file, 'utf8')).split('\n').filter(Boolean);
      expect(lines).toEqual(['# operator notes', `127.0.1.31 ssh-ed25519 ${hostKeys.get('127.0.1.31')!.toString('base64')}`]);
    });

    it('refuses a changed host key, even with acceptNewHostKeys', async () => {
      const file = path.join(dir, 'changed_known_hosts');
      const wrong = hostKeys.get('127.0.1.32')!;
      await fs.writeFile(file, `127.0.1.31 ssh-ed25519 ${wrong.toString('base64')}\n`);
      const err = await caught(pool({ knownHostsFile: file, acceptNewHostKeys: true }).get('node-2').exec('true'));
      expect(err.code).toBe('ERR_SSH_HOST_KEY_CHANGED');
      expect(err.exitCode).toBe(ExitCode.unreachable);
      expect(err.message).toContain('node-2 (127.0.1.31)');
      expect(err.message).toContain(fingerprint(wrong));
      expect(err.message).toContain(fingerprint(hostKeys.get('127.0.1.31')!));
      expect((await fs.readFile(file, 'utf8')).split('\n').filter(Boolean)).toHaveLength(1);
    });
  });

  describe('failures', () => {
    it('refuses a key the node does not authorise', async () => {
      const key = path.join(dir, 'stranger_key');
      await execa('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', key]);
      const err = await caught(pool({ identityFile: key, agentSocket: '' }).get('node-1').exec('true'));
      expect(err.code).toBe('ERR_SSH_AUTH');
      expect(err.exitCode).toBe(ExitCode.unreachable);
      expect(err.message).toBe('SSH authentication as root failed on node-1 (127.0.1.30)');
    });

    it('gives up on a peer that never speaks SSH within the connect timeout', async () => {
      const silent = net.createServer(() => undefined);
      await new Promise<void>((resolve) => silent.listen(0, '127.0.1.39', resolve));
      const port = (silent.address() as net.AddressInfo).port;
      try {
        const err = await caught(
          pool({ connectTimeoutMs: 300 }, [{ name: 'node-9', address: '127.0.1.39', port }])
            .get('node-9')
            .exec('true'),
        );
        expect(err.code).toBe('ERR_SSH_TIMEOUT');
        expect(err.exitCode).toBe(ExitCode.unreachable);
        expect(err.message).toContain(`node-9 (127.0.1.39:${port})`);
      } finally {
        silent.close();
      }
    });

    it('reports a node whose sshd is stopped as unreachable, naming node and address', async () => {
      const node3 = sandbox.nodes[2]!;
      expect(await stopSshd(node3.sshd.pid, node3)).toBe(true);
      const p = pool();
      const err = await caught(p.connectAll());
      expect(err.code).toBe('ERR_SSH_UNREACHABLE');
      expect(err.exitCode).toBe(ExitCode.unreachable);
      expect(err.message).toBe('cannot connect to node-3 (127.0.1.32): connection refused');
      expect(err.node).toBe('node-3');
      expect(err.hint).toContain('sshd');
      // The reachable nodes were connected in the same parallel attempt.
      expect(p.get('node-1').connectCount).toBe(1);
    });
  });

  describe('bastion', () => {
    it('reaches a node through a jump host', async () => {
      const bastionPid = sandbox.nodes[0]!.sshd.pid;
      const before = await sshdConnections(bastionPid);
      const p = pool({ bastion: { address: '127.0.1.30' } }, [sandbox.nodes[1]!]);
      const r = await p.get('node-2').exec('echo $SSH_CONNECTION');
      expect(r.stdout.split(' ')[2]).toBe('127.0.1.31');
      // The only new connection to node-1 is the bastion's.
      expect(await sshdConnections(bastionPid)).toBe(before + 1);
      await p.closeAll();
    });
  });
});
