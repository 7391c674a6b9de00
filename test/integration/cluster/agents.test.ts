import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signalProcess } from '../../../src/sandbox/processes.js';
import { hoistVersion } from '../../../src/version.js';
import { sandboxSshds } from '../ssh/helpers.js';
import { gone, nodeFile, startCluster, type TestCluster } from './helpers.js';

const sha256 = async (file: string) =>
  createHash('sha256')
    .update(await fs.readFile(file))
    .digest('hex');

/** Table rows of `hoist agent status`: name → [address, status, version]. */
function statusRows(stdout: string): Map<string, string[]> {
  const lines = stdout.trim().split('\n');
  expect(lines[0]!.split(/\s+/)).toEqual(['Hostname', 'Address', 'Status', 'Version']);
  return new Map(
    lines
      .slice(1)
      .map((l) => l.trim().split(/\s+/))
      .map(([name, ...rest]) => [name!, rest]),
  );
}

describe('cluster › agents deploy, status, shutdown on real sshd nodes', () => {
  let c: TestCluster;
  const version = hoistVersion();

  beforeAll(async () => {
    c = await startCluster('127.0.3.2', { deploy: false });
  });

  afterAll(async () => {
    const root = c.root;
    expect(await c.teardown()).toEqual([]);
    expect(await sandboxSshds(root)).toEqual([]);
  });

  it('deploys an agent on every node, one line per node', async () => {
    const r = await c.cli('agent', 'deploy');
    expect(r.code).toBe(0);
    expect(r.stdout.trim().split('\n').sort()).toEqual([
      'Deployed agent on node-1 (127.0.3.2)',
      'Deployed agent on node-2 (127.0.3.3)',
      'Deployed agent on node-3 (127.0.3.4)',
    ]);
    expect(r.stderr).toContain('Deploying agents on cluster nodes');
    for (const n of c.record.nodes) {
      const pid = await c.agentPid(n.name);
      expect(pid).toBeDefined();
      expect(await c.isAgent(pid!)).toBe(true);
    }
  });

  it('shows every agent Deployed with its version', async () => {
    const r = await c.cli('agent', 'status');
    expect(r.code).toBe(0);
    expect(statusRows(r.stdout)).toEqual(
      new Map([
        ['node-1', ['127.0.3.2', 'Deployed', version]],
        ['node-2', ['127.0.3.3', 'Deployed', version]],
        ['node-3', ['127.0.3.4', 'Deployed', version]],
      ]),
    );
  });

  it('shows a killed agent Offline and exits 5 naming it', async () => {
    const pid = (await c.agentPid('node-2'))!;
    expect(await c.isAgent(pid)).toBe(true);
    signalProcess(pid, 'SIGKILL');
    expect(await gone(pid)).toBe(true);

    const r = await c.cli('agent', 'status');
    expect(r.code).toBe(5);
    const rows = statusRows(r.stdout);
    expect(rows.get('node-2')).toEqual(['127.0.3.3', 'Offline', 'N/A']);
    expect(rows.get('node-1')?.[1]).toBe('Deployed');
    expect(rows.get('node-3')?.[1]).toBe('Deployed');
    expect(r.stderr).toContain('error[ERR_AGENT_OFFLINE]: some agents are offline: node-2 (127.0.3.3)');
    expect(r.stderr).toContain('hint: deploy them with "hoist agent deploy"');
  });

  it('deploys again over the dead agent and every node is Deployed; a bundle the node has is not sent again, a damaged one is', async () => {
    const before = new Map(await Promise.all(c.record.nodes.map(async (n) => [n.name, await c.agentPid(n.name)] as const)));
    const bundle = (node: string) => nodeFile(c, node, 'agent', 'hoist-agent.mjs');
    // The upload replaces the file by a rename: an unchanged inode means nothing was sent.
    const inodes = new Map(await Promise.all(c.record.nodes.map(async (n) => [n.name, (await fs.stat(bundle(n.name))).ino] as const)));
    await fs.appendFile(bundle('node-3'), '// damaged\n');
    const r = await c.cli('agent', 'deploy');
    expect(r.code).toBe(0);
    expect(r.stdout.trim().split('\n')).toHaveLength(3);
    const status = await c.cli('agent', 'status');
    expect(status.code).toBe(0);
    expect([...statusRows(status.stdout).values()].map((row) => row[1])).toEqual(['Deployed', 'Deployed', 'Deployed']);
    expect((await fs.stat(bundle('node-1'))).ino).toBe(inodes.get('node-1'));
    expect((await fs.stat(bundle('node-2'))).ino).toBe(inodes.get('node-2'));
    expect((await fs.stat(bundle('node-3'))).ino).not.toBe(inodes.get('node-3'));
    expect(await sha256(bundle('node-3'))).toBe(await sha256(bundle('node-1')));
    // node-1 runs this very build from an intact file: kept. node-2's agent was dead, node-3's
    // bundle damaged: both started anew.
    expect(await c.agentPid('node-1')).toBe(before.get('node-1'));
    for (const name of ['node-2', 'node-3']) {
      const pid = (await c.agentPid(name))!;
      expect(pid).not.toBe(before.get(name));
      expect(await c.isAgent(pid)).toBe(true);
      if (before.get(name) !== undefined) expect(await c.isAgent(before.get(name)!)).toBe(false);
    }
    expect(r.stderr).toContain('The agent on node-1 ran this build already and kept running (--restart restarts them)');
  });

  it('deploy --restart replaces every agent, the live ones included; -o json says which were restarted', async () => {
    const before = new Map(await Promise.all(c.record.nodes.map(async (n) => [n.name, (await c.agentPid(n.name))!] as const)));
    const kept = await c.cli('agent', 'deploy', '-o', 'json');
    expect(kept.code).toBe(0);
    const keptOut = JSON.parse(kept.stdout) as { deployed: { name: string; restarted: boolean }[] };
    expect(keptOut.deployed.map((d) => d.restarted)).toEqual([false, false, false]);
    for (const n of c.record.nodes) expect(await c.agentPid(n.name)).toBe(before.get(n.name));

    const r = await c.cli('agent', 'deploy', '--restart', '-o', 'json');
    expect(r.code).toBe(0);
    expect((JSON.parse(r.stdout) as { deployed: { restarted: boolean }[] }).deployed.map((d) => d.restarted)).toEqual([true, true, true]);
    for (const n of c.record.nodes) {
      const pid = (await c.agentPid(n.name))!;
      expect(pid).not.toBe(before.get(n.name));
      expect(await c.isAgent(pid)).toBe(true);
      expect(await c.isAgent(before.get(n.name)!)).toBe(false);
    }
  });

  it('restarts an agent whose identity file no longer matches the inventory', async () => {
    const pid = (await c.agentPid('node-2'))!;
    await fs.writeFile(nodeFile(c, 'node-2', 'node.json'), '{"name":"somebody-else"}\n');
    const r = await c.cli('agent', 'deploy');
    expect(r.code).toBe(0);
    expect(await c.agentPid('node-2')).not.toBe(pid);
    expect(JSON.parse(await fs.readFile(nodeFile(c, 'node-2', 'node.json'), 'utf8'))).toMatchObject({ name: 'node-2', role: 'master' });
  });

  it('shuts every agent down: all Offline afterwards and their processes gone', async () => {
    const pids = await Promise.all(c.record.nodes.map((n) => c.agentPid(n.name)));
    const r = await c.cli('agent', 'shutdown');
    expect(r.code).toBe(0);
    expect(r.stdout.trim().split('\n').sort()).toEqual([
      'Shut down agent on node-1 (127.0.3.2)',
      'Shut down agent on node-2 (127.0.3.3)',
      'Shut down agent on node-3 (127.0.3.4)',
    ]);
    for (const pid of pids) expect(await gone(pid!)).toBe(true);

    const status = await c.cli('agent', 'status');
    expect(status.code).toBe(5);
    expect([...statusRows(status.stdout).values()].map((row) => row[1])).toEqual(['Offline', 'Offline', 'Offline']);
    expect(status.stderr).toContain('some agents are offline: node-1 (127.0.3.2), node-2 (127.0.3.3), node-3 (127.0.3.4)');
  });
});
