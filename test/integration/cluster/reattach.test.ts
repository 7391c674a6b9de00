import { promises as fs } from 'node:fs';
import path from 'node:path';
import { Writable } from 'node:stream';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ClusterAgents } from '../../../src/cluster/agents.js';
import { nodesOf, sshNodesOf, sshSettingsOf } from '../../../src/cluster/inventory.js';
import { loadInventory } from '../../../src/config/load.js';
import { isAlive, signalProcess } from '../../../src/sandbox/processes.js';
import { SshPool } from '../../../src/ssh/pool.js';
import { hoistVersion } from '../../../src/version.js';
import { eventually, processes, sandboxSshds } from '../ssh/helpers.js';
import { exists, nodeFile, startCluster, type TestCluster } from './helpers.js';

/** A package whose hook marks its start, runs for ~3 s, then appends one line. */
const MANIFEST = [
  'hooks:',
  '  slow:',
  '    run: "echo started > started; sleep 3; echo done >> ran.log"',
  '    timeoutSeconds: 60',
  '',
].join('\n');

describe('cluster › an action survives its SSH connection being cut', () => {
  let c: TestCluster;
  let pool: SshPool;
  let agents: ClusterAgents;
  const logLines: string[] = [];

  beforeAll(async () => {
    c = await startCluster('127.0.8.2');
    const { config } = await loadInventory(c.clusterFile);
    const nodes = nodesOf(config);
    pool = new SshPool(sshNodesOf(nodes), sshSettingsOf(config));
    const sink = new Writable({
      write: (chunk: Buffer, _enc, done) => {
        logLines.push(chunk.toString());
        done();
      },
    });
    agents = new ClusterAgents(nodes, pool, { version: hoistVersion(), log: pino({ level: 'debug' }, sink) });
  });

  afterAll(async () => {
    await agents?.close();
    const root = c.root;
    expect(await c.teardown()).toEqual([]);
    expect(await sandboxSshds(root)).toEqual([]);
  });

  it('re-attaches to the running hook on a new connection and returns its true result, run once', async () => {
    const dir = nodeFile(c, 'node-2', 'packages', 'unpacked', 'slow', '1.0.0');
    await fs.mkdir(dir, { recursive: true });
    await fs.writeFile(path.join(dir, 'package.yaml'), MANIFEST);
    // A warm connection first, so that the only session of node-2's sshd is the one cut below.
    expect((await agents.hello('node-2')).version).toBe(hoistVersion());
    const transport = pool.get('node-2');
    expect(transport.connectCount).toBe(1);

    const run = agents.run('node-2', 'exec.hook', { package: 'slow:1.0.0', hook: 'slow' }, { operationId: 'op-cut', phaseId: '/cut' });
    run.catch(() => undefined);
    await eventually(() => exists(path.join(dir, 'started')), 800);

    const listener = c.node('node-2').sshd.pid;
    const sessions = (await processes()).filter((p) => p.ppid === listener && p.cmdline.startsWith('sshd:'));
    expect(sessions.length).toBeGreaterThan(0);
    for (const s of sessions) signalProcess(s.pid, 'SIGKILL');
    await eventually(async () => !(await Promise.all(sessions.map((s) => isAlive(s.pid)))).some(Boolean), 800);
    // Still running on the node when the connection went.
    expect(await exists(path.join(dir, 'ran.log'))).toBe(false);

    expect(await run).toEqual({ package: 'slow:1.0.0', hook: 'slow', exitCode: 0 });
    expect(await fs.readFile(path.join(dir, 'ran.log'), 'utf8')).toBe('done\n');
    expect(transport.connectCount).toBe(2);
    expect(logLines.some((l) => l.includes('"event":"agent.reattach"') && l.includes('"node":"node-2"'))).toBe(true);

    // One execution on the node: the re-attach followed it rather than starting it again.
    const executions = nodeFile(c, 'node-2', 'agent', 'executions');
    const hooks: string[] = [];
    for (const id of await fs.readdir(executions)) {
      const req = JSON.parse(await fs.readFile(path.join(executions, id, 'request.json'), 'utf8')) as { action: string; phaseId: string };
      if (req.action === 'exec.hook' && req.phaseId === '/cut') hooks.push(id);
    }
    expect(hooks).toHaveLength(1);
    expect(JSON.parse(await fs.readFile(path.join(executions, hooks[0]!, 'result.json'), 'utf8'))).toMatchObject({
      ok: true,
      data: { exitCode: 0 },
    });
  });

  it('keeps working on the new connection afterwards', async () => {
    const time = await agents.run<{ time: number }>('node-2', 'check.time');
    expect(typeof time.time).toBe('number');
    expect(pool.get('node-2').connectCount).toBe(2);
  });
});
