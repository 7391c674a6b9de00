import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isSandboxSshd, signalProcess } from '../../../src/sandbox/processes.js';
import { exists, expectCleanTeardown, gone, nodeFile, phaseStates, startClusterWithOperation, type TestCluster } from './helpers.js';

describe('cluster › a node that cannot be reached, then one whose agent is not running', () => {
  let c: TestCluster;
  let op: string;
  const initRecord = (node: string) => nodeFile(c, node, 'operations', op, 'operation.json');

  beforeAll(async () => {
    ({ cluster: c, op } = await startClusterWithOperation('127.0.7.2'));
  });

  afterAll(async () => {
    await expectCleanTeardown(c);
  });

  it('fails /init with exit 5 naming the node whose sshd is down; the other nodes complete', async () => {
    const node2 = c.node('node-2');
    expect(await isSandboxSshd(node2.sshd.pid, node2.sshd.config)).toBe(true);
    signalProcess(node2.sshd.pid, 'SIGTERM');
    expect(await gone(node2.sshd.pid)).toBe(true);

    const r = await c.cli('plan', 'execute', '--phase', '/init');
    expect(r.code).toBe(5);
    // The redeploy of offline agents leaves the unreachable node to its own phase's failure.
    expect(r.stderr).toContain('Cannot reach node-2 (127.0.7.3): phases on it fail until it is back');
    expect(r.stderr).toContain('error[ERR_SSH_UNREACHABLE]: phase "/init/node-2" failed: cannot connect to node-2 (127.0.7.3)');
    expect(r.stderr).toContain('hint: check that sshd runs on node-2 and listens on 127.0.7.3 port 22');
    expect(await exists(initRecord('node-2'))).toBe(false);
    expect(await exists(initRecord('node-1'))).toBe(true);
  });

  it('still shows the plan, with the failed phase and the untouched ones', async () => {
    const table = await c.cli('plan');
    expect(table.code).toBe(0);
    expect(table.stdout).toMatch(/^× init\s+Initialize update operation\s+Failed/m);
    expect(table.stdout).toMatch(/^ {2}× node-2\s+Initialize node "node-2"\s+Failed\s+127\.0\.7\.3/m);
    expect(table.stdout).toMatch(/^ {2}✓ node-1\s+Initialize node "node-1"\s+Completed\s+127\.0\.7\.2/m);
    expect(table.stdout).toMatch(/^\* checks\s+Run preflight checks\s+Unstarted/m);
    const states = await phaseStates(c);
    expect(['/init/node-1', '/init/node-2', '/init/node-3', '/checks'].map((id) => states.get(id))).toEqual([
      'completed',
      'failed',
      'completed',
      'unstarted',
    ]);
  });

  it('goes on once sshd runs again: the plan was resumable', async () => {
    const pid = await c.restartSshd('node-2');
    expect(await isSandboxSshd(pid, c.node('node-2').sshd.config)).toBe(true);

    const r = await c.cli('plan', 'execute', '--phase', '/init');
    expect(r.code).toBe(0);
    // Completed children are skipped; only the failed one runs again.
    expect(r.stderr).toContain('Executing "/init/node-2" on node-2');
    expect(r.stderr).not.toContain('Executing "/init/node-1"');
    expect(await exists(initRecord('node-2'))).toBe(true);
    expect((await c.cli('plan', 'execute', '--phase', '/checks')).code).toBe(0);
    const states = await phaseStates(c);
    expect([states.get('/init'), states.get('/checks')]).toEqual(['completed', 'completed']);
  });

  it('deploys the agent again on a reachable node whose agent died, naming it, and runs the phase', async () => {
    const pid = (await c.agentPid('node-3'))!;
    expect(await c.isAgent(pid)).toBe(true);
    signalProcess(pid, 'SIGKILL');
    expect(await gone(pid)).toBe(true);

    const r = await c.cli('plan', 'execute', '--phase', '/gc/node-3', '--force');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain('Agents offline on node-3 (127.0.7.4): deploying them again');
    expect(r.stderr).not.toContain('node-1 (127.0.7.2): deploying');
    expect((await phaseStates(c)).get('/gc/node-3')).toBe('completed');
    const again = (await c.agentPid('node-3'))!;
    expect(again).not.toBe(pid);
    expect(await c.isAgent(again)).toBe(true);
  });
});
