/**
 * One execution per phase step, cancel, and the node lease, against an in-process agent with
 * real hooks (shell processes) on a temp state dir.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { CallOptions } from '../../../src/agent/client.js';
import { isAlive } from '../../../src/sandbox/processes.js';
import { startTestAgent, type TestAgent, waitFor, writePackage } from './harness.js';

/** A hook that logs one line per run, writes its pid, then waits until `release` exists. */
const HELD = {
  run: 'echo "ran $HOIST_EXECUTION_ID" >> runs.log; echo $$ > hook.pid; sleep 5 >/dev/null 2>&1 & echo $! > child.pid; while [ ! -f release ]; do sleep 0.05; done; echo done',
  timeoutSeconds: 60,
};

const agents: TestAgent[] = [];
afterEach(async () => {
  for (const a of agents.splice(0)) await a.cleanup();
});

async function setup(leaseTtlMs?: number): Promise<{ t: TestAgent; dir: string; runs: () => Promise<string[]> }> {
  const t = await startTestAgent(leaseTtlMs === undefined ? {} : { leaseTtlMs });
  agents.push(t);
  const dir = await writePackage(t.stateDir, 'rt', '1.0.0', { held: HELD, quick: { run: 'echo quick', timeoutSeconds: 10 } });
  const runs = async () => (await fs.readFile(path.join(dir, 'runs.log'), 'utf8').catch(() => '')).split('\n').filter(Boolean);
  return { t, dir, runs };
}

const step = (attempt: string, extra: Partial<CallOptions> = {}): CallOptions => ({
  operationId: 'op-1',
  phaseId: '/masters/node-1/system-upgrade',
  attempt,
  step: 'exec.hook:held:1',
  ...extra,
});

describe('agent › one execution per phase step', { timeout: 30_000 }, () => {
  it('attaches a repeated step to its running execution, then replays its result without running it again', async () => {
    const { t, dir, runs } = await setup();
    const first = await t.client();
    const ids: string[] = [];
    const a = first.run('exec.hook', { package: 'rt:1.0.0', hook: 'held' }, { ...step('a1'), onAccepted: (id) => ids.push(id) });
    await waitFor(async () => (await runs()).length === 1, 'the hook to start');
    // A second orchestrator process (a resume after kill -9) repeats the step on another connection.
    const second = await t.client();
    const b = second.run('exec.hook', { package: 'rt:1.0.0', hook: 'held' }, { ...step('a1'), onAccepted: (id) => ids.push(id) });
    await waitFor(() => ids.length === 2, 'both requests to be accepted');
    expect(ids[1]).toBe(ids[0]);
    await fs.writeFile(path.join(dir, 'release'), '');
    expect(await b).toEqual({ package: 'rt:1.0.0', hook: 'held', exitCode: 0 });
    expect(await a).toEqual({ package: 'rt:1.0.0', hook: 'held', exitCode: 0 });
    // Finished: a third repeat gets the recorded result.
    let replayed = '';
    const third = await (await t.client()).run(
      'exec.hook',
      { package: 'rt:1.0.0', hook: 'held' },
      { ...step('a1'), onAccepted: (id) => (replayed = id) },
    );
    expect(third).toEqual({ package: 'rt:1.0.0', hook: 'held', exitCode: 0 });
    expect(replayed).toBe(ids[0]);
    expect(await runs()).toEqual([`ran ${ids[0]}`]);
    // Another attempt of the phase is a new run.
    await (await t.client()).run('exec.hook', { package: 'rt:1.0.0', hook: 'held' }, step('a2'));
    expect(await runs()).toHaveLength(2);
  });

  it('refuses another attempt of a phase while one of its executions runs', async () => {
    const { t, dir, runs } = await setup();
    const client = await t.client();
    const a = client.run('exec.hook', { package: 'rt:1.0.0', hook: 'held' }, step('a1'));
    await waitFor(async () => (await runs()).length === 1, 'the hook to start');
    await expect(
      client.run('exec.hook', { package: 'rt:1.0.0', hook: 'quick' }, { ...step('rollback-1'), step: 'q' }),
    ).rejects.toMatchObject({
      code: 'ERR_AGENT_PHASE_BUSY',
      exitCode: 4,
      hint: expect.stringContaining('hoist plan cancel --phase /masters/node-1/system-upgrade'),
    });
    await fs.writeFile(path.join(dir, 'release'), '');
    await a;
  });

  it('cancel stops the whole process group, waits for it, and a repeated step then runs again', async () => {
    const { t, dir, runs } = await setup();
    const client = await t.client();
    let id = '';
    const a = client.run('exec.hook', { package: 'rt:1.0.0', hook: 'held' }, { ...step('a1'), onAccepted: (e) => (id = e) });
    a.catch(() => undefined);
    await waitFor(async () => (await fs.readFile(path.join(dir, 'child.pid'), 'utf8').catch(() => '')).trim() !== '', 'the hook child');
    const hookPid = Number((await fs.readFile(path.join(dir, 'hook.pid'), 'utf8')).trim());
    const childPid = Number((await fs.readFile(path.join(dir, 'child.pid'), 'utf8')).trim());
    const cancelled = await (await t.client()).cancel(undefined, { operationId: 'op-1', phaseId: '/masters/node-1/system-upgrade' });
    expect(cancelled).toEqual([id]);
    // Gone when cancel answers, the shell's own child included.
    expect(await isAlive(hookPid)).toBe(false);
    expect(await isAlive(childPid)).toBe(false);
    await expect(a).rejects.toMatchObject({ code: 'ERR_EXECUTION_CANCELLED' });
    expect(await (await t.client()).inspect(id)).toMatchObject({ state: 'died', error: { code: 'ERR_EXECUTION_CANCELLED' } });
    const again = (await t.client()).run('exec.hook', { package: 'rt:1.0.0', hook: 'held' }, step('a1'));
    await waitFor(async () => (await runs()).length === 2, 'the step to run again');
    await fs.writeFile(path.join(dir, 'release'), '');
    await again;
  });
});

describe('agent › node lease', { timeout: 30_000 }, () => {
  it('serves one operation: another one and an older epoch are refused, naming the holder; release frees the node', async () => {
    const { t } = await setup(60_000);
    const client = await t.client();
    const holder = { host: 'host-a', pid: 4242 };
    await client.run('exec.hook', { package: 'rt:1.0.0', hook: 'quick' }, { operationId: 'op-a', phaseId: '/p', epoch: 3, holder });
    const other = client.run('exec.hook', { package: 'rt:1.0.0', hook: 'quick' }, { operationId: 'op-b', phaseId: '/p', epoch: 9 });
    await expect(other).rejects.toMatchObject({ code: 'ERR_AGENT_LEASE_HELD', exitCode: 4 });
    await expect(other).rejects.toThrow(/serves operation op-a, held by pid 4242 on host-a \(epoch 3/);
    // Outside any operation: reading is fine, changing the node is not.
    await expect(client.run('check.time')).resolves.toBeDefined();
    await expect(client.run('exec.hook', { package: 'rt:1.0.0', hook: 'quick' })).rejects.toMatchObject({ code: 'ERR_AGENT_LEASE_HELD' });
    await expect(
      client.run('exec.hook', { package: 'rt:1.0.0', hook: 'quick' }, { operationId: 'op-a', phaseId: '/p', epoch: 2 }),
    ).rejects.toMatchObject({ code: 'ERR_AGENT_LEASE_STALE' });
    expect((await client.hello()).lease).toMatchObject({ operationId: 'op-a', epoch: 3, holder });

    // A restarted agent keeps the lease.
    await t.agent.stop();
    const restarted = await startTestAgent({ stateDir: t.stateDir, leaseTtlMs: 60_000 });
    agents.push(restarted);
    const c2 = await restarted.client();
    expect((await c2.hello()).lease).toMatchObject({ operationId: 'op-a', epoch: 3 });
    await expect(c2.run('exec.hook', { package: 'rt:1.0.0', hook: 'quick' }, { operationId: 'op-b', phaseId: '/p' })).rejects.toMatchObject(
      {
        code: 'ERR_AGENT_LEASE_HELD',
      },
    );
    await expect(c2.release({ operationId: 'op-b' })).rejects.toMatchObject({ code: 'ERR_AGENT_LEASE_HELD' });
    await c2.release({ operationId: 'op-a' });
    await expect(
      c2.run('exec.hook', { package: 'rt:1.0.0', hook: 'quick' }, { operationId: 'op-b', phaseId: '/p' }),
    ).resolves.toMatchObject({
      exitCode: 0,
    });
  });
});
