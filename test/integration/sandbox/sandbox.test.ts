import { spawn } from 'node:child_process';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import YAML from 'yaml';
import { ExitCode } from '../../../src/errors.js';
import { type SandboxRecord, sandboxDown, sandboxStatus, sandboxUp } from '../../../src/sandbox/index.js';
import { isAlive } from '../../../src/sandbox/processes.js';
import { parseKnownHosts } from '../../../src/ssh/known-hosts.js';
import { SshPool } from '../../../src/ssh/pool.js';
import { caught, sandboxSshds, sshdConnections } from '../ssh/helpers.js';

describe('sandbox › up, status, down', () => {
  let root: string;
  let dir: string;
  let sandbox: SandboxRecord;

  beforeAll(async () => {
    root = await fs.mkdtemp(path.join(os.tmpdir(), 'hoist-sandbox-'));
    dir = path.join(root, 'demo');
    sandbox = await sandboxUp({ dir, masters: 2, workers: 1, firstAddress: '127.0.1.2', name: 'test-cluster' });
  });

  afterAll(async () => {
    await sandboxDown({ dir });
    await fs.rm(root, { recursive: true, force: true });
    expect(await sandboxSshds(root)).toEqual([]);
  });

  it('writes cluster.yaml with masters first, then workers, and per-node state dirs', async () => {
    const doc = YAML.parse(await fs.readFile(path.join(dir, 'cluster.yaml'), 'utf8'));
    expect(doc).toEqual({
      apiVersion: 'hoist/v1',
      kind: 'Cluster',
      metadata: { name: 'test-cluster' },
      spec: {
        ssh: { user: 'root', port: 22, identityFile: path.join(dir, 'id_ed25519'), knownHostsFile: path.join(dir, 'known_hosts') },
        nodes: [
          { name: 'node-1', address: '127.0.1.2', role: 'master', nodeStateDir: path.join(dir, 'nodes/node-1/var/lib/hoist') },
          { name: 'node-2', address: '127.0.1.3', role: 'master', nodeStateDir: path.join(dir, 'nodes/node-2/var/lib/hoist') },
          { name: 'node-3', address: '127.0.1.4', role: 'worker', nodeStateDir: path.join(dir, 'nodes/node-3/var/lib/hoist') },
        ],
      },
    });
    for (const node of sandbox.nodes) expect((await fs.stat(node.nodeStateDir)).isDirectory()).toBe(true);
  });

  it('records one plain known_hosts entry per node that matches the key the node serves', async () => {
    const entries = parseKnownHosts(await fs.readFile(path.join(dir, 'known_hosts'), 'utf8'));
    expect(entries.map((e) => e.patterns)).toEqual([['127.0.1.2'], ['127.0.1.3'], ['127.0.1.4']]);
    // A pool that trusts only this file reaches every node.
    const pool = new SshPool(sandbox.nodes, { identityFile: sandbox.identityFile, knownHostsFile: sandbox.knownHostsFile });
    try {
      await pool.connectAll();
      for (const node of sandbox.nodes) {
        const r = await pool.get(node.name).exec('echo $SSH_CONNECTION; id -u');
        expect(r.stdout.split('\n')[0]!.split(' ')[2]).toBe(node.address);
        expect(r.stdout.split('\n')[1]).toBe('0');
      }
    } finally {
      await pool.closeAll();
    }
  });

  it('reports every node running, with its sshd pid', async () => {
    const status = await sandboxStatus({ dir });
    expect(status.exists).toBe(true);
    expect(status.nodes.map((n) => [n.name, n.address, n.running])).toEqual([
      ['node-1', '127.0.1.2', true],
      ['node-2', '127.0.1.3', true],
      ['node-3', '127.0.1.4', true],
    ]);
    expect(status.nodes.map((n) => n.pid)).toEqual(sandbox.nodes.map((n) => n.sshd.pid));
  });

  it('refuses a second sandbox in the same dir while the first runs', async () => {
    const err = await caught(sandboxUp({ dir, masters: 1, firstAddress: '127.0.1.60' }));
    expect(err.code).toBe('ERR_SANDBOX_RUNNING');
    expect(err.exitCode).toBe(ExitCode.stateConflict);
    expect(err.hint).toContain('sandbox down');
  });

  it('refuses addresses that are already in use, starting nothing', async () => {
    const other = path.join(root, 'other');
    const err = await caught(sandboxUp({ dir: other, masters: 2, firstAddress: '127.0.1.3' }));
    expect(err.code).toBe('ERR_SANDBOX_ADDRESS_IN_USE');
    expect(err.exitCode).toBe(ExitCode.invalidInput);
    expect(err.message).toContain('127.0.1.3:22');
    expect(await sandboxSshds(other)).toEqual([]);
  });

  it('refuses addresses outside loopback and a non-empty foreign dir', async () => {
    expect((await caught(sandboxUp({ dir: path.join(root, 'x'), firstAddress: '10.0.0.2' }))).code).toBe('ERR_SANDBOX_ADDRESS');
    const foreign = path.join(root, 'foreign');
    await fs.mkdir(foreign);
    await fs.writeFile(path.join(foreign, 'keep.txt'), 'mine');
    expect((await caught(sandboxUp({ dir: foreign, firstAddress: '127.0.1.61' }))).code).toBe('ERR_SANDBOX_DIR_NOT_EMPTY');
    await sandboxDown({ dir: foreign });
    expect(await fs.readFile(path.join(foreign, 'keep.txt'), 'utf8')).toBe('mine');
  });
});

describe('sandbox › down', () => {
  let root: string;

  beforeAll(async () => {
    root = await fs.mkdtemp(path.join(os.tmpdir(), 'hoist-sandbox-down-'));
  });
  afterAll(async () => {
    await fs.rm(root, { recursive: true, force: true });
  });

  it('stops the listeners and their open sessions, removes the dir, and is idempotent', async () => {
    const dir = path.join(root, 'a');
    const sandbox = await sandboxUp({ dir, masters: 1, workers: 1, firstAddress: '127.0.1.70' });
    const pool = new SshPool(sandbox.nodes, { identityFile: sandbox.identityFile, knownHostsFile: sandbox.knownHostsFile });
    // A connection left open on purpose: down must not leave its session sshd behind.
    await pool.get('node-1').exec('true');
    expect(await sshdConnections(sandbox.nodes[0]!.sshd.pid)).toBe(1);
    const before = await sandboxSshds(dir);
    expect(before.length).toBeGreaterThanOrEqual(3);

    expect(await sandboxDown({ dir })).toEqual({ removed: true });
    await pool.closeAll();
    for (const pid of before) expect(await isAlive(pid)).toBe(false);
    await expect(fs.stat(dir)).rejects.toThrow();
    expect(await sandboxDown({ dir })).toEqual({ removed: false });
    expect(await sandboxStatus({ dir })).toEqual({ dir, exists: false, nodes: [] });
  });

  it('never signals a recorded pid that is no longer its sshd', async () => {
    const dir = path.join(root, 'b');
    const sandbox = await sandboxUp({ dir, masters: 1, firstAddress: '127.0.1.72' });
    const realPid = sandbox.nodes[0]!.sshd.pid;
    const stranger = spawn('sleep', ['60'], { stdio: 'ignore' });
    try {
      // Simulate pid reuse: the record now points at an unrelated process.
      const file = path.join(dir, 'sandbox.json');
      const record = JSON.parse(await fs.readFile(file, 'utf8'));
      record.nodes[0].sshd.pid = stranger.pid;
      await fs.writeFile(file, JSON.stringify(record));
      expect((await sandboxStatus({ dir })).nodes[0]!.running).toBe(false);
      await sandboxDown({ dir });
      expect(await isAlive(stranger.pid!)).toBe(true);
    } finally {
      stranger.kill('SIGKILL');
      process.kill(realPid, 'SIGTERM');
    }
  });

  it('replaces a stopped sandbox left in the dir', async () => {
    const dir = path.join(root, 'c');
    const first = await sandboxUp({ dir, masters: 1, firstAddress: '127.0.1.74' });
    process.kill(first.nodes[0]!.sshd.pid, 'SIGTERM');
    await expect.poll(async () => (await sandboxStatus({ dir })).nodes[0]!.running).toBe(false);
    const second = await sandboxUp({ dir, masters: 1, firstAddress: '127.0.1.74' });
    expect((await sandboxStatus({ dir })).nodes[0]).toMatchObject({ pid: second.nodes[0]!.sshd.pid, running: true });
    await sandboxDown({ dir });
    expect(await sandboxSshds(dir)).toEqual([]);
  });
});
