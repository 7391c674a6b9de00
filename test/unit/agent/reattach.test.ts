import { promises as fs } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { AgentError } from '../../../src/agent/errors.js';
import { exists, startTestAgent, type TestAgent, waitFor, writePackage } from './harness.js';

let t: TestAgent | undefined;
afterEach(async () => {
  await t?.cleanup();
  t = undefined;
});

describe('agent re-attach', () => {
  it('keeps running after the client disconnects; attach on a new connection returns the real result and output', async () => {
    t = await startTestAgent();
    const dir = await writePackage(t.stateDir, 'slow', '1.0.0', {
      install: { run: 'echo starting; sleep 1; echo done > marker; echo finished', timeoutSeconds: 30 },
    });
    const first = await t.client();
    let accepted = '';
    const pending = first.run(
      'exec.hook',
      { package: 'slow:1.0.0', hook: 'install' },
      {
        onAccepted: (id) => {
          accepted = id;
          first.close();
        },
      },
    );
    const err = await pending.catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AgentError);
    expect(err).toMatchObject({ code: 'ERR_AGENT_DISCONNECTED', exitCode: 5, execution: accepted });
    expect((err as AgentError).hint).toContain(accepted);
    expect(await exists(path.join(dir, 'marker'))).toBe(false);

    const second = await t.client();
    let stdout = '';
    const logs: string[] = [];
    const result = await second.attach((err as AgentError).execution!, {
      onOutput: (_s, d) => (stdout += d),
      onLog: (_l, m) => logs.push(m),
    });
    expect(result).toEqual({ package: 'slow:1.0.0', hook: 'install', exitCode: 0 });
    expect(stdout).toBe('starting\nfinished\n');
    expect(logs).toEqual([expect.stringContaining('running hook "install" of slow:1.0.0')]);
    expect(await fs.readFile(path.join(dir, 'marker'), 'utf8')).toBe('done\n');

    // A finished execution replays the same way.
    let replayed = '';
    await expect(second.attach(accepted, { onOutput: (_s, d) => (replayed += d) })).resolves.toEqual(result);
    expect(replayed).toBe(stdout);
  });

  it('lets a second connection follow a running execution live, every chunk exactly once', async () => {
    t = await startTestAgent();
    const dir = await writePackage(t.stateDir, 'steps', '1.0.0', {
      run: {
        run: 'for i in 1 2 3; do echo "line $i"; done; while [ ! -f go ]; do sleep 0.05; done; for i in 4 5; do echo "line $i"; done',
      },
    });
    const owner = await t.client();
    const watcher = await t.client();
    let ownerOut = '';
    let execution = '';
    const running = owner.run(
      'exec.hook',
      { package: 'steps:1.0.0', hook: 'run' },
      { onAccepted: (id) => (execution = id), onOutput: (_s, d) => (ownerOut += d) },
    );
    await waitFor(() => ownerOut.includes('line 3'), 'the first output');
    let watched = '';
    const attached = watcher.attach(execution, { onOutput: (_s, d) => (watched += d) });
    await waitFor(() => watched.includes('line 3'), 'the replay');
    await fs.writeFile(path.join(dir, 'go'), '');
    const [a, b] = await Promise.all([running, attached]);
    expect(a).toEqual(b);
    const expected = [1, 2, 3, 4, 5].map((i) => `line ${i}\n`).join('');
    expect(ownerOut).toBe(expected);
    expect(watched).toBe(expected);
  });

  it('returns a failed result on attach as the same coded error', async () => {
    t = await startTestAgent();
    await writePackage(t.stateDir, 'bad', '1.0.0', { install: { run: 'exit 4' } });
    const client = await t.client();
    const first = (await client.run('exec.hook', { package: 'bad:1.0.0', hook: 'install' }).catch((e: unknown) => e)) as AgentError;
    expect(first.code).toBe('ERR_HOOK_FAILED');
    const again = await client.attach(first.execution!).catch((e: unknown) => e);
    expect(again).toMatchObject({ code: 'ERR_HOOK_FAILED', message: first.message, execution: first.execution });
  });

  it('refuses an unknown execution id with ERR_AGENT_UNKNOWN_EXECUTION', async () => {
    t = await startTestAgent();
    const client = await t.client();
    await expect(client.attach('0b5e7c1e-0000-4000-8000-000000000000')).rejects.toMatchObject({ code: 'ERR_AGENT_UNKNOWN_EXECUTION' });
    // Ids are path segments on the node: anything else is refused before it reaches the agent.
    await expect(client.attach('../../etc')).rejects.toMatchObject({ code: 'ERR_AGENT_BAD_REQUEST' });
    await expect(client.hello()).resolves.toMatchObject({ version: '9.9.9-test' });
  });
});
