import { createHash } from 'node:crypto';
import { promises as fs, readFileSync } from 'node:fs';
import path from 'node:path';
import { execa, type ResultPromise } from 'execa';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { runActionLocally } from '../../../src/agent/actions/run-local.js';
import { type AgentBundle, buildAgentBundle } from '../../../src/agent/bundle.js';
import { AgentClient } from '../../../src/agent/client.js';
import type { AgentError } from '../../../src/agent/errors.js';
import { connectSocket, exists, startTestAgent, tempDir, waitFor, writePackage } from './harness.js';

const packageVersion = (JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string }).version;

let outDir: string;
let bundle: AgentBundle;
const cleanups: Array<() => Promise<void> | void> = [];

beforeAll(async () => {
  outDir = await tempDir('hoist-bundle-');
  bundle = await buildAgentBundle({ outFile: path.join(outDir, 'agent', 'hoist-agent.mjs') });
}, 60_000);
afterAll(() => fs.rm(outDir, { recursive: true, force: true }));
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** Starts the bundled agent as a child process and connects once it answers. */
async function spawnAgent(stateDir: string): Promise<{ child: ResultPromise; client: AgentClient }> {
  const child = execa(process.execPath, [bundle.path, '--state-dir', stateDir], { reject: false });
  cleanups.push(async () => {
    child.kill('SIGKILL');
    await child;
  });
  const socketPath = path.join(stateDir, 'agent.sock');
  await waitFor(() => exists(socketPath), 'the agent socket');
  const client = new AgentClient(await connectSocket(socketPath));
  cleanups.push(() => client.close());
  return { child, client };
}

/** True while process `pid` exists and is not a zombie. */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  return !readFileSync(`/proc/${pid}/stat`, 'utf8').includes(') Z ');
}

async function newStateDir(): Promise<string> {
  const dir = await tempDir();
  cleanups.push(() => fs.rm(dir, { recursive: true, force: true }));
  return dir;
}

describe('agent bundle', () => {
  it('builds one ESM file and reports its sha256', async () => {
    const content = await fs.readFile(bundle.path);
    expect(bundle.path).toBe(path.join(outDir, 'agent', 'hoist-agent.mjs'));
    expect(bundle.sha256).toBe(createHash('sha256').update(content).digest('hex'));
    expect(bundle.bytes).toBe(content.length);
    expect(bundle.version).toBe(packageVersion);
    expect(content.toString('utf8', 0, 20)).toMatch(/^#!\/usr\/bin\/env node/);
  });

  it('prints the package version with --version', async () => {
    const result = await execa(process.execPath, [bundle.path, '--version']);
    expect(result.stdout).toBe(packageVersion);
  });

  it('starts, answers hello with the package version, and stops cleanly on SIGTERM', async () => {
    const stateDir = await newStateDir();
    const { child, client } = await spawnAgent(stateDir);
    const info = await client.hello();
    expect(info).toEqual({ version: packageVersion, hostname: expect.any(String), pid: child.pid, running: {} });
    await expect(client.run('check.time')).resolves.toMatchObject({ time: expect.any(Number) });
    expect((await fs.readFile(path.join(stateDir, 'agent', 'agent.pid'), 'utf8')).trim()).toBe(String(child.pid));

    child.kill('SIGTERM');
    const result = await child;
    expect(result.exitCode).toBe(0);
    expect(await exists(path.join(stateDir, 'agent.sock'))).toBe(false);
    expect(await exists(path.join(stateDir, 'agent', 'agent.pid'))).toBe(false);
    const log = (await fs.readFile(path.join(stateDir, 'agent', 'agent.log'), 'utf8'))
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(log.map((l) => l.msg)).toEqual(expect.arrayContaining(['agent listening', 'signal received', 'agent stopped']));
  });

  it('refuses to start a second agent on the same state dir', async () => {
    const stateDir = await newStateDir();
    await spawnAgent(stateDir);
    const second = await execa(process.execPath, [bundle.path, '--state-dir', stateDir], { reject: false });
    expect(second.exitCode).toBe(4);
    expect(second.stderr).toMatch(/^error\[ERR_AGENT_RUNNING\]: another agent is already listening/);
  });

  it('stops the hook a SIGKILLed agent left running before the next agent serves, and reports the execution as ERR_AGENT_RESTARTED', async () => {
    const stateDir = await newStateDir();
    const dir = await writePackage(stateDir, 'long', '1.0.0', { install: { run: 'echo $$ > hook.pid; echo begun; exec sleep 30' } });
    const hookPidFile = path.join(dir, 'hook.pid');
    cleanups.push(async () => {
      // The hook runs in its own process group and outlives the killed agent: end it by its pid.
      if (await exists(hookPidFile)) {
        try {
          process.kill(Number(await fs.readFile(hookPidFile, 'utf8')), 'SIGKILL');
        } catch {
          // already gone
        }
      }
    });
    const { child, client } = await spawnAgent(stateDir);
    let output = '';
    const pending = client.run(
      'exec.hook',
      { package: 'long:1.0.0', hook: 'install' },
      { phaseId: '/masters/node-1/system-upgrade', onOutput: (_s, d) => (output += d) },
    );
    await waitFor(() => output.includes('begun'), 'the hook to start');
    child.kill('SIGKILL');
    const lost = (await pending.catch((e: unknown) => e)) as AgentError;
    expect(lost).toMatchObject({ code: 'ERR_AGENT_DISCONNECTED', execution: expect.any(String) });
    const hookPid = Number(await fs.readFile(hookPidFile, 'utf8'));
    // Orphaned: the hook still runs with no agent to supervise it, and a resume would run it again beside it.
    expect(alive(hookPid)).toBe(true);

    const next = await startTestAgent({ stateDir });
    cleanups.push(() => next.agent.stop());
    expect(alive(hookPid)).toBe(false);
    const attached = await (await next.client()).attach(lost.execution!).catch((e: unknown) => e);
    expect(attached).toMatchObject({ code: 'ERR_AGENT_RESTARTED', execution: lost.execution });
    expect((attached as Error).message).toMatch(/exec\.hook.*\/masters\/node-1\/system-upgrade.*pid \d+/);
    const recorded = JSON.parse(await fs.readFile(path.join(stateDir, 'agent', 'executions', lost.execution!, 'result.json'), 'utf8'));
    expect(recorded).toMatchObject({ ok: false, error: { code: 'ERR_AGENT_RESTARTED' } });
  });

  it('leaves running the services that a finished hook or an in-process install started when a SIGKILLed agent is replaced', async () => {
    const stateDir = await newStateDir();
    // The hook finishes at once; the service it starts in a session of its own is meant to outlive it.
    const dir = await writePackage(stateDir, 'svc', '1.0.0', {
      start: { run: "setsid sh -c 'echo $$ > service.pid; exec sleep 30' > /dev/null 2>&1 < /dev/null & sleep 0.2; echo started" },
    });
    const servicePidFile = path.join(dir, 'service.pid');
    const servicePid = async (): Promise<number> => {
      await waitFor(() => exists(servicePidFile), 'the service to start');
      const pid = Number(await fs.readFile(servicePidFile, 'utf8'));
      await fs.rm(servicePidFile);
      return pid;
    };
    // As the sandbox installs a node's runtime: in process, with no execution recorded on the node.
    await runActionLocally(stateDir, 'exec.hook', { package: 'svc:1.0.0', hook: 'start' }, { version: packageVersion });
    const installed = await servicePid();
    const { child, client } = await spawnAgent(stateDir);
    await client.run('exec.hook', { package: 'svc:1.0.0', hook: 'start' });
    const started = await servicePid();
    child.kill('SIGKILL');
    await child;

    const next = await startTestAgent({ stateDir });
    cleanups.push(() => next.agent.stop());
    expect([alive(installed), alive(started)]).toEqual([true, true]);
    for (const pid of [installed, started]) process.kill(pid, 'SIGKILL');
  });
});
