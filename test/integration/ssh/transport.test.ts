import { createHash, randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import type { Duplex } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type SandboxRecord, sandboxDown, sandboxUp } from '../../../src/sandbox/index.js';
import { SshPool } from '../../../src/ssh/pool.js';
import { openRelay, relayCommand } from '../../../src/ssh/ssh-socket.js';
import { uploadOverSftp } from '../../../src/ssh/ssh-upload.js';
import { caught, eventually, processes, running, sandboxSshds, sshdConnections } from './helpers.js';

async function exchange(stream: Duplex, message: string): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = '';
    stream.on('data', (d: Buffer) => (text += d.toString()));
    stream.on('end', () => resolve(text));
    stream.on('error', reject);
    stream.end(message);
  });
}

/** A server on a Unix socket that answers every connection with its input upper-cased. */
async function upperServer(socketPath: string): Promise<net.Server> {
  const server = net.createServer((s) => {
    let text = '';
    s.on('data', (d: Buffer) => (text += d.toString()));
    s.on('end', () => s.end(text.toUpperCase()));
  });
  await new Promise<void>((resolve) => server.listen(socketPath, resolve));
  return server;
}

describe('ssh › SshTransport on a real sshd', () => {
  let dir: string;
  let sandbox: SandboxRecord;
  let pool: SshPool;
  let stateDir: string;

  beforeAll(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'hoist-ssh-'));
    sandbox = await sandboxUp({ dir, masters: 2, firstAddress: '127.0.1.10' });
    pool = new SshPool(sandbox.nodes, { identityFile: sandbox.identityFile, knownHostsFile: sandbox.knownHostsFile });
    stateDir = sandbox.nodes[0]!.nodeStateDir;
  });

  afterAll(async () => {
    await pool?.closeAll();
    await sandboxDown({ dir });
    await fs.rm(dir, { recursive: true, force: true }); // when sandboxUp itself failed
    expect(await sandboxSshds(dir)).toEqual([]);
  });

  describe('exec', () => {
    it('returns stdout, stderr and the exit code; a failure is data', async () => {
      const r = await pool.get('node-1').exec('echo out; echo err >&2; exit 3');
      expect(r).toEqual({ exitCode: 3, stdout: 'out\n', stderr: 'err\n' });
    });

    it('runs on the node it names', async () => {
      const r = await pool.get('node-2').exec('echo $SSH_CONNECTION');
      expect(r.stdout.trim().split(' ')[2]).toBe('127.0.1.11');
    });

    it('throws ERR_REMOTE_COMMAND with the stderr tail when check is set', async () => {
      const err = await caught(pool.get('node-1').exec('echo first >&2; echo last >&2; exit 7', { check: true }));
      expect(err.code).toBe('ERR_REMOTE_COMMAND');
      expect(err.message).toContain('node-1');
      expect(err.message).toContain('exit code 7');
      expect(err.details).toEqual(['first', 'last']);
    });

    it('feeds stdin', async () => {
      const r = await pool.get('node-1').exec('cat; echo', { stdin: Buffer.from('from stdin') });
      expect(r.stdout).toBe('from stdin\n');
    });

    it('streams output while the command still runs', async () => {
      // The command only finishes after the test saw its first line: without streaming it would hang.
      const flag = path.join(stateDir, `go-${randomBytes(4).toString('hex')}`);
      const seen: string[] = [];
      const r = await pool.get('node-1').exec(`echo first; while [ ! -e ${flag} ]; do sleep 0.02; done; echo second >&2`, {
        onStdout: (chunk) => {
          seen.push(`out:${chunk.toString().trim()}`);
          void fs.writeFile(flag, '');
        },
        onStderr: (chunk) => seen.push(`err:${chunk.toString().trim()}`),
      });
      expect(r.exitCode).toBe(0);
      expect(seen).toEqual(['out:first', 'err:second']);
    });

    it('kills the command and rejects on timeout', async () => {
      const err = await caught(pool.get('node-1').exec('sleep 31.25', { timeoutMs: 300 }));
      expect(err.code).toBe('ERR_REMOTE_TIMEOUT');
      expect(err.message).toContain('node-1');
      await eventually(async () => !(await running('sleep 31.25')));
    });

    it('closes the channel and rejects with an abort error', async () => {
      const controller = new AbortController();
      const run = pool
        .get('node-1')
        .exec('echo started; exec sleep 31.5', { signal: controller.signal, onStdout: () => controller.abort() });
      const err = await caught(run);
      expect(err.code).toBe('ERR_INTERRUPTED');
      expect(err.exitCode).toBe(130);
      await eventually(async () => !(await running('sleep 31.5')));
      const already = await caught(pool.get('node-1').exec('true', { signal: controller.signal }));
      expect(already.code).toBe('ERR_INTERRUPTED');
    });
  });

  describe('upload', () => {
    it('writes a buffer with its mode, creating directories', async () => {
      const dest = path.join(stateDir, 'agent', 'bin', 'tool');
      await pool.get('node-1').upload(Buffer.from('#!/bin/sh\necho tool\n'), dest, { mode: 0o751 });
      expect((await fs.stat(dest)).mode & 0o777).toBe(0o751);
      expect((await pool.get('node-1').exec(dest)).stdout).toBe('tool\n');
    });

    it('copies a local file and replaces the destination atomically', async () => {
      const src = path.join(dir, 'payload.bin');
      const payload = randomBytes(3 * 1024 * 1024 + 17);
      await fs.writeFile(src, payload);
      const dest = path.join(stateDir, 'payload.bin');
      await fs.writeFile(dest, 'old');
      await pool.get('node-1').upload(src, dest, { mode: 0o600 });
      const written = await fs.readFile(dest);
      expect(createHash('sha256').update(written).digest('hex')).toBe(createHash('sha256').update(payload).digest('hex'));
      expect((await fs.readdir(stateDir)).filter((f) => f.includes('hoist-upload'))).toEqual([]);
    });

    it('refuses a copy whose sha256 on the node differs, leaving the destination untouched', async () => {
      const t = pool.get('node-1');
      const dest = path.join(stateDir, 'corrupt.bin');
      const host = {
        node: t.node,
        user: t.user,
        client: () => t.client(),
        // Simulates a corrupting disk: the node reports another hash than the bytes sent.
        exec: (cmd: string, opts?: Parameters<typeof t.exec>[1]) => t.exec(cmd.replace('sha256sum -- ', `echo ${'0'.repeat(64)} `), opts),
      };
      const err = await caught(uploadOverSftp(host, Buffer.from('data'), dest, { mode: 0o644 }));
      expect(err.code).toBe('ERR_SSH_UPLOAD_CHECKSUM');
      expect(err.message).toContain(dest);
      await expect(fs.stat(dest)).rejects.toThrow();
      expect((await fs.readdir(stateDir)).filter((f) => f.includes('hoist-upload'))).toEqual([]);
    });
  });

  describe('unix sockets', () => {
    it('reaches a socket on the node through streamlocal forwarding', async () => {
      const sock = path.join(stateDir, 'agent.sock');
      const server = await upperServer(sock);
      try {
        const stream = await pool.get('node-1').openUnixSocket(sock);
        // Forwarding needs no helper process on the node.
        expect((await processes()).some((p) => p.cmdline.startsWith('node -e') && p.cmdline.includes(sock))).toBe(false);
        expect(await exchange(stream, 'hello agent\n')).toBe('HELLO AGENT\n');
      } finally {
        server.close();
      }
    });

    it('reports a missing socket with the node and path', async () => {
      const err = await caught(pool.get('node-1').openUnixSocket(path.join(stateDir, 'nothing.sock')));
      expect(err.code).toBe('ERR_SSH_SOCKET_UNAVAILABLE');
      expect(err.message).toContain('node-1');
      expect(err.message).toContain('nothing.sock');
    });

    it('relays through python3 when node is not on the PATH', async () => {
      const bin = path.join(dir, 'python-only-bin');
      await fs.mkdir(bin, { recursive: true });
      await fs.symlink('/usr/bin/python3', path.join(bin, 'python3'));
      const sock = path.join(stateDir, 'py.sock');
      const server = await upperServer(sock);
      try {
        const t = pool.get('node-1');
        const stream = await openRelay(await t.client(), t.node, sock, `PATH=${bin}\n${relayCommand(sock)}`);
        expect(await exchange(stream, 'through python\n')).toBe('THROUGH PYTHON\n');
      } finally {
        server.close();
      }
    });
  });

  describe('connection reuse', () => {
    it('runs many commands, uploads and sockets over one connection per node', async () => {
      const t = pool.get('node-2');
      await Promise.all(Array.from({ length: 20 }, (_, i) => t.exec(`echo ${i}`, { check: true })));
      await t.upload(Buffer.from('x'), path.join(sandbox.nodes[1]!.nodeStateDir, 'x'), { mode: 0o644 });
      for (let i = 0; i < 5; i++) await t.exec('true');
      expect(t.connectCount).toBe(1);
      expect(await sshdConnections(sandbox.nodes[1]!.sshd.pid)).toBe(1);
      expect(pool.get('node-2')).toBe(t);
    });

    it('reconnects on the next call after close', async () => {
      const t = pool.get('node-2');
      const before = t.connectCount;
      await t.close();
      await eventually(async () => (await sshdConnections(sandbox.nodes[1]!.sshd.pid)) === 0);
      expect((await t.exec('echo again')).stdout).toBe('again\n');
      expect(t.connectCount).toBe(before + 1);
    });
  });
});

describe('ssh › unix socket fallback when the server forbids streamlocal forwarding', () => {
  let dir: string;
  let sandbox: SandboxRecord;
  let pool: SshPool;

  beforeAll(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'hoist-ssh-relay-'));
    sandbox = await sandboxUp({ dir, masters: 1, firstAddress: '127.0.1.20', sshdOptions: { AllowStreamLocalForwarding: 'no' } });
    pool = new SshPool(sandbox.nodes, { identityFile: sandbox.identityFile, knownHostsFile: sandbox.knownHostsFile });
  });

  afterAll(async () => {
    await pool?.closeAll();
    await sandboxDown({ dir });
    await fs.rm(dir, { recursive: true, force: true }); // when sandboxUp itself failed
    expect(await sandboxSshds(dir)).toEqual([]);
  });

  it('relays over an exec channel', async () => {
    const sock = path.join(sandbox.nodes[0]!.nodeStateDir, 'agent.sock');
    const server = await upperServer(sock);
    try {
      for (const message of ['first\n', 'second\n']) {
        const stream = await pool.get('node-1').openUnixSocket(sock);
        expect((await processes()).some((p) => p.cmdline.startsWith('node -e') && p.cmdline.endsWith(sock))).toBe(true);
        expect(await exchange(stream, message)).toBe(message.toUpperCase());
      }
    } finally {
      server.close();
    }
  });
});
