/**
 * Stops what runs inside the sandbox nodes before their sshd go: each node's runtime (its service
 * and etcd member, through the runtime's own `stop` hook) and a hoist agent left running there.
 * Only processes whose command line names the node's own state dir are signalled.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import type { Logger } from 'pino';
import { runActionLocally } from '../agent/actions/run-local.js';
import { hoistVersion } from '../version.js';
import type { SandboxRecord } from './manifest.js';
import { signalProcess } from './processes.js';

async function readText(file: string): Promise<string | undefined> {
  return fs.readFile(file, 'utf8').then(
    (t) => t.trim(),
    () => undefined,
  );
}

async function cmdline(pid: number): Promise<string> {
  return (await readText(`/proc/${pid}/cmdline`))?.replace(/\0/g, ' ') ?? '';
}

async function waitGone(pid: number, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    try {
      process.kill(pid, 0);
    } catch {
      return true;
    }
    const state = (await readText(`/proc/${pid}/stat`))?.split(' ')[2];
    if (state === 'Z') return true;
    await new Promise((r) => setTimeout(r, 100));
  }
  return false;
}

/** Stops the agent whose pid file is in the node's state dir, if it is still that agent. */
async function stopAgent(stateDir: string, log?: Logger): Promise<void> {
  const pid = Number.parseInt((await readText(path.join(stateDir, 'agent', 'agent.pid'))) ?? '', 10);
  if (!Number.isInteger(pid) || pid <= 1 || !(await cmdline(pid)).includes(stateDir)) return;
  signalProcess(pid, 'SIGTERM');
  if (!(await waitGone(pid, 5_000))) signalProcess(pid, 'SIGKILL');
  log?.info({ event: 'sandbox.agent.stopped', pid }, `stopped agent pid ${pid}`);
}

/** Stops the node's runtime through the `stop` hook of the runtime it runs. */
async function stopRuntime(stateDir: string, log?: Logger): Promise<void> {
  const version = await readText(path.join(stateDir, 'runtime', 'current'));
  if (!version) return;
  try {
    await runActionLocally(stateDir, 'exec.hook', { package: `runtime:${version}`, hook: 'stop' }, { version: hoistVersion() });
  } catch (err) {
    log?.warn({ event: 'sandbox.runtime.stop', err }, `could not stop runtime ${version} in ${stateDir}: ${(err as Error).message}`);
  }
}

/** Stops the Kubernetes API emulator the sandbox started, if it is still that process. */
async function stopKube(record: SandboxRecord, log?: Logger): Promise<void> {
  const pid = (record as { kube?: { pid?: number } }).kube?.pid;
  if (!pid || !(await cmdline(pid)).includes(path.join(record.dir, 'kube'))) return;
  signalProcess(pid, 'SIGTERM');
  if (!(await waitGone(pid, 5_000))) signalProcess(pid, 'SIGKILL');
  log?.info({ event: 'sandbox.kube.down', pid }, `stopped the Kubernetes API emulator (pid ${pid})`);
}

/** Stops one node's agent and runtime (its service and etcd member). */
export async function stopNodeServices(stateDir: string, log?: Logger): Promise<void> {
  await Promise.all([stopAgent(stateDir, log), stopRuntime(stateDir, log)]);
}

/** Starts the node's installed runtime again through its `start` hook; false when none is installed. */
export async function startNodeRuntime(stateDir: string): Promise<boolean> {
  const version = await readText(path.join(stateDir, 'runtime', 'current'));
  if (!version) return false;
  await runActionLocally(stateDir, 'exec.hook', { package: `runtime:${version}`, hook: 'start' }, { version: hoistVersion() });
  return true;
}

/** Stops every node's runtime and agent, and the Kubernetes API emulator. */
export async function stopSandboxServices(record: SandboxRecord, log?: Logger): Promise<void> {
  await Promise.all([stopKube(record, log), ...record.nodes.map((n) => stopNodeServices(n.nodeStateDir, log))]);
}
