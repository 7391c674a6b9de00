/**
 * A refused `sandbox up` changes nothing (the running sandbox stays up), and one node can be taken
 * down and brought back with `sandbox stop-node` / `restart-node`, tracked in sandbox.json.
 */
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isAlive } from '../../../src/sandbox/processes.js';
import { expectCleanTeardown, startCluster, type TestCluster } from '../cluster/helpers.js';

function accepts(address: string): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: address, port: 22 });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

describe('sandbox: refusals change nothing; nodes go down and come back', () => {
  let c: TestCluster;

  beforeAll(async () => {
    c = await startCluster('127.0.40.2', { deploy: false });
  });
  afterAll(async () => {
    await expectCleanTeardown(c);
  });

  it('refuses a second sandbox up on a running sandbox and leaves it running', async () => {
    const pids = c.record.nodes.map((n) => n.sshd.pid);
    const r = await c.hoist(['sandbox', 'up', '--first-address', '127.0.40.2']);
    expect(r.code).toBe(4);
    expect(r.stderr).toContain('error[ERR_SANDBOX_RUNNING]');
    for (const pid of pids) expect(await isAlive(pid)).toBe(true);
    const status = await c.hoist(['sandbox', 'status', '-o', 'json']);
    expect((JSON.parse(status.stdout) as { nodes: { running: boolean }[] }).nodes.map((n) => n.running)).toEqual([true, true, true]);
  });

  it('stops one node and restarts it with a new sshd that status and down track', async () => {
    const old = c.node('node-2').sshd.pid;
    const stop = await c.hoist(['sandbox', 'stop-node', 'node-2']);
    expect(stop.code, stop.stderr).toBe(0);
    expect(stop.stdout).toBe('Node node-2 is down');
    expect(await isAlive(old)).toBe(false);
    expect(await accepts('127.0.40.3')).toBe(false);
    const down = JSON.parse((await c.hoist(['sandbox', 'status', '-o', 'json'])).stdout) as { nodes: { name: string; running: boolean }[] };
    expect(down.nodes.map((n) => [n.name, n.running])).toEqual([
      ['node-1', true],
      ['node-2', false],
      ['node-3', true],
    ]);

    const restart = await c.hoist(['sandbox', 'restart-node', 'node-2', '-o', 'json']);
    expect(restart.code, restart.stderr).toBe(0);
    const change = JSON.parse(restart.stdout) as { pid: number; running: boolean; runtimeStarted: boolean };
    expect(change).toMatchObject({ running: true, runtimeStarted: true });
    c.pids.add(change.pid);
    expect(await accepts('127.0.40.3')).toBe(true);
    const health = await c.cli('agent', 'deploy');
    expect(health.code, health.stderr).toBe(0);
  });

  it('names the nodes when asked for one that does not exist', async () => {
    const r = await c.hoist(['sandbox', 'stop-node', 'node-9']);
    expect(r.code).toBe(3);
    expect(r.stderr).toContain('error[ERR_SANDBOX_NODE]: sandbox upgrade-demo has no node "node-9"');
    expect(r.stderr).toContain('hint: choose one of: node-1, node-2, node-3');
  });
});
