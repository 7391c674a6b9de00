import { promises as fs } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exists, expectCleanTeardown, nodeFile, phaseStates, startClusterWithOperation, type TestCluster } from './helpers.js';

const NODES = ['node-1', 'node-2', 'node-3'];

describe('cluster › /init, /checks and /gc executed and rolled back on the nodes', () => {
  let c: TestCluster;
  let op: string;
  const record = (node: string) => nodeFile(c, node, 'operations', op, 'operation.json');
  const readRecord = async (node: string) => JSON.parse(await fs.readFile(record(node), 'utf8')) as Record<string, unknown>;

  beforeAll(async () => {
    ({ cluster: c, op } = await startClusterWithOperation('127.0.5.2'));
  });

  afterAll(async () => {
    await expectCleanTeardown(c);
  });

  it('/init records the operation on every node', async () => {
    for (const n of NODES) expect(await exists(record(n))).toBe(false);
    const r = await c.cli('plan', 'execute', '--phase', '/init');
    expect(r.code).toBe(0);
    for (const n of NODES) expect(r.stderr).toContain(`Executing "/init/${n}" on ${n}`);
    expect(r.stderr).toMatch(/Executing phase "\/init" finished in /);
    for (const n of NODES) {
      expect(await readRecord(n)).toMatchObject({ id: op, cluster: 'upgrade-demo', from: '1.0.0', to: '2.0.0', node: n });
      expect((await fs.stat(nodeFile(c, n, 'operations', op, 'scratch'))).isDirectory()).toBe(true);
    }
    const states = await phaseStates(c);
    expect(NODES.map((n) => states.get(`/init/${n}`))).toEqual(['completed', 'completed', 'completed']);
  });

  it('rolling /init back forgets the operation on every node; executing it again brings it back', async () => {
    const back = await c.cli('plan', 'rollback', '--phase', '/init');
    expect(back.code).toBe(0);
    for (const n of NODES) expect(back.stderr).toContain(`Rolling back "/init/${n}" on ${n}`);
    for (const n of NODES) expect(await exists(path.dirname(record(n)))).toBe(false);
    expect((await phaseStates(c)).get('/init')).toBe('rolled_back');

    const again = await c.cli('plan', 'execute', '--phase', '/init');
    expect(again.code).toBe(0);
    for (const n of NODES) expect((await readRecord(n)).id).toBe(op);
    expect((await phaseStates(c)).get('/init')).toBe('completed');
  });

  it('/checks runs its checks through every agent, rolls back, and runs again', async () => {
    const r = await c.cli('plan', 'execute', '--phase', '/checks');
    expect(r.code).toBe(0);
    expect(r.stderr).toContain('Executing "/checks" on node-1');
    expect(r.stderr).toMatch(/Executing phase "\/checks" finished in (less than a second|\d+ seconds?)/);
    // Every node ran each check for this operation's /checks phase, as its agent recorded (the
    // clock is sampled again while round trips are slow, up to five times).
    for (const n of NODES) {
      const run = await actionsRun(n, op, '/checks');
      expect([...new Set(run)], n).toEqual(['check.disk-write', 'check.time', 'check.tmp', 'facts']);
      expect(run.filter((a) => a === 'check.time').length, n).toBeLessThanOrEqual(5);
    }
    expect((await phaseStates(c)).get('/checks')).toBe('completed');

    const back = await c.cli('plan', 'rollback', '--phase', '/checks');
    expect(back.code).toBe(0);
    expect(back.stderr).toContain('Rolling back "/checks" on node-1');
    expect((await phaseStates(c)).get('/checks')).toBe('rolled_back');

    const again = await c.cli('plan', 'execute', '--phase', '/checks');
    expect(again.code).toBe(0);
    expect((await phaseStates(c)).get('/checks')).toBe('completed');
  });

  it('/gc/node-2 is refused while its requirements are open, and --force runs it on node-2 only', async () => {
    for (const n of NODES) await fs.writeFile(nodeFile(c, n, 'operations', op, 'scratch', 'leftover'), 'x');
    const refused = await c.cli('plan', 'execute', '--phase', '/gc/node-2');
    expect(refused.code).toBe(4);
    expect(refused.stderr).toContain('ERR_REQUIRES_NOT_COMPLETED');

    const r = await c.cli('plan', 'execute', '--phase', '/gc/node-2', '--force');
    expect(r.code).toBe(0);
    expect(r.stderr).toContain('requirements bypassed with --force');
    expect(r.stderr).toContain('Executing "/gc/node-2" on node-2');
    expect(await exists(nodeFile(c, 'node-2', 'operations', op, 'scratch'))).toBe(false);
    expect(typeof (await readRecord('node-2')).collected).toBe('string');
    for (const n of ['node-1', 'node-3']) {
      expect(await exists(nodeFile(c, n, 'operations', op, 'scratch', 'leftover'))).toBe(true);
      expect((await readRecord(n)).collected).toBeUndefined();
    }
    expect((await phaseStates(c)).get('/gc/node-2')).toBe('completed');

    const back = await c.cli('plan', 'rollback', '--phase', '/gc/node-2');
    expect(back.code).toBe(0);
    expect(back.stderr).toContain('Rolling back "/gc/node-2" on node-2');
    expect((await phaseStates(c)).get('/gc/node-2')).toBe('rolled_back');
    // Only leftovers were removed: the operation stays recorded on the node.
    expect((await readRecord('node-2')).id).toBe(op);
  });

  /** Actions the node's agent ran for `phase` of `op`, sorted, from its execution records. */
  async function actionsRun(node: string, opId: string, phase: string): Promise<string[]> {
    const dir = nodeFile(c, node, 'agent', 'executions');
    const found: string[] = [];
    for (const id of await fs.readdir(dir)) {
      const req = JSON.parse(await fs.readFile(path.join(dir, id, 'request.json'), 'utf8')) as {
        action: string;
        operationId: string;
        phaseId: string;
      };
      const result = JSON.parse(await fs.readFile(path.join(dir, id, 'result.json'), 'utf8')) as { ok: boolean };
      if (req.operationId === opId && req.phaseId === phase && result.ok) found.push(req.action);
    }
    return found.sort();
  }
});
