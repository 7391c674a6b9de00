import { promises as fs } from 'node:fs';
import path from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sandboxSshds } from '../ssh/helpers.js';
import { exists, nodeFile, operationId, phaseStates, startCluster, type TestCluster } from './helpers.js';

describe('cluster › host keys of the nodes are checked against known_hosts', () => {
  let c: TestCluster;
  let op: string;
  let original: string;
  const knownHosts = () => fs.readFile(c.record.knownHostsFile, 'utf8');
  const lines = async () => (await knownHosts()).split('\n').filter(Boolean);
  /** `<address> <type> <blob>` of the key the node's sshd really serves. */
  const servedKey = async (node: string) => {
    const [type, blob] = (await fs.readFile(`${c.node(node).sshd.hostKey}.pub`, 'utf8')).trim().split(/\s+/);
    return `${c.node(node).address} ${type} ${blob}`;
  };

  beforeAll(async () => {
    c = await startCluster('127.0.6.2', { deploy: false });
    const r = await c.cli('upgrade', '--manual', 'fixtures/images/upgrade-demo-2.0.0');
    if (r.code !== 0) throw new Error(`upgrade failed (${r.code}): ${r.stderr}`);
    op = await operationId(c);
    original = await knownHosts();
  });

  afterAll(async () => {
    // Trust restored so that teardown shuts the agents down the ordinary way.
    if (original) await fs.writeFile(c.record.knownHostsFile, original);
    const root = c.root;
    expect(await c.teardown()).toEqual([]);
    expect(await sandboxSshds(root)).toEqual([]);
  });

  it('refuses a node missing from known_hosts with exit 5 and its fingerprint', async () => {
    await fs.writeFile(
      c.record.knownHostsFile,
      original
        .split('\n')
        .filter((l) => !l.startsWith('127.0.6.3 '))
        .join('\n'),
    );
    const before = await knownHosts();

    const phase = await c.cli('plan', 'execute', '--phase', '/init/node-2');
    expect(phase.code).toBe(5);
    expect(phase.stderr).toMatch(/host key of node-2 \(127\.0\.6\.3\) is not known: ED25519 key SHA256:[A-Za-z0-9+/]{43}/);
    expect(phase.stderr).toContain('--accept-new-host-keys');
    expect(await exists(nodeFile(c, 'node-2', 'operations', op, 'operation.json'))).toBe(false);

    const deploy = await c.cli('agent', 'deploy');
    expect(deploy.code).toBe(5);
    expect(deploy.stderr).toContain('is not known');
    expect(deploy.stderr).toContain('SHA256:');
    expect(deploy.stdout).not.toContain('node-2');
    expect(await knownHosts()).toBe(before);
  });

  it('records the key with --accept-new-host-keys: exactly one line, the one the node serves', async () => {
    expect(await lines()).toHaveLength(2);
    const r = await c.cli('--accept-new-host-keys', 'plan', 'execute', '--phase', '/init/node-2');
    expect(r.code).toBe(0);
    expect(await exists(nodeFile(c, 'node-2', 'operations', op, 'operation.json'))).toBe(true);
    const after = await lines();
    expect(after).toHaveLength(3);
    expect(after[2]).toBe(await servedKey('node-2'));

    // Known now: a second run with the flag adds nothing, and one without it connects.
    expect((await c.cli('--accept-new-host-keys', 'plan', 'execute', '--phase', '/init/node-1')).code).toBe(0);
    expect((await c.cli('plan', 'execute', '--phase', '/init/node-3')).code).toBe(0);
    expect(await lines()).toEqual(after);
    expect((await phaseStates(c)).get('/init')).toBe('completed');
  });

  it('refuses a changed key with exit 5, even with --accept-new-host-keys', async () => {
    const other = path.join(c.root, 'other_key');
    await execa('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'impostor', '-f', other]);
    const [type, blob] = (await fs.readFile(`${other}.pub`, 'utf8')).trim().split(/\s+/);
    const current = await lines();
    const swapped = current.map((l) => (l.startsWith('127.0.6.4 ') ? `127.0.6.4 ${type} ${blob}` : l));
    expect(swapped).not.toEqual(current);
    await fs.writeFile(c.record.knownHostsFile, `${swapped.join('\n')}\n`);
    const before = await knownHosts();

    // node-3's entry is line 2 now: node-2's was removed and appended again above.
    for (const flags of [[], ['--accept-new-host-keys']]) {
      const r = await c.cli(...flags, 'plan', 'rollback', '--phase', '/init/node-3');
      expect(r.code).toBe(5);
      expect(r.stderr).toMatch(
        /host key of node-3 \(127\.0\.6\.4\) has changed: known ED25519 key SHA256:\S+ \(line 2\), offered ED25519 key SHA256:/,
      );
      expect(r.stderr).toContain('remove the old entry');
      expect(await knownHosts()).toBe(before);
    }
    // Nothing was done on the node.
    expect(await exists(nodeFile(c, 'node-3', 'operations', op, 'operation.json'))).toBe(true);
  });
});
