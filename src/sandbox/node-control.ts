/**
 * Takes one sandbox node down and brings it back, as a machine that is switched off and on: its
 * agent, runtime (service and etcd member) and sshd stop; on restart sshd and the installed
 * runtime start again and sandbox.json records the new sshd pid, so `status` and `down` keep
 * tracking exactly what runs.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import type { Logger } from 'pino';
import { InputError, StateError } from '../errors.js';
import { assessBoot, selectBoot, startAgentAtBoot } from './boot.js';
import { readSandboxRecord, type SandboxNodeRecord, type SandboxRecord, writeSandboxRecord } from './manifest.js';
import { isSandboxSshd } from './processes.js';
import { startNodeRuntime, stopNodeServices } from './services.js';
import { startSshd, stopSshd } from './sshd.js';

/** What a node operation did. */
export interface NodeChange {
  node: string;
  /** sshd pid after the operation (the new one after a restart). */
  pid: number;
  running: boolean;
  runtimeStarted?: boolean;
}

async function recordAndNode(dir: string, name: string): Promise<{ record: SandboxRecord; node: SandboxNodeRecord }> {
  const record = await readSandboxRecord(path.resolve(dir));
  if (!record) {
    throw new StateError('ERR_SANDBOX_NOT_FOUND', `no sandbox in ${path.resolve(dir)}`, {
      hint: 'run hoist sandbox up first, or pass the sandbox directory with --dir',
    });
  }
  const node = record.nodes.find((n) => n.name === name);
  if (!node) {
    throw new InputError('ERR_SANDBOX_NODE', `sandbox ${record.name} has no node ${JSON.stringify(name)}`, {
      hint: `choose one of: ${record.nodes.map((n) => n.name).join(', ')}`,
    });
  }
  return { record, node };
}

/** Stops the node's agent, runtime and sshd (only processes the sandbox started); idempotent. */
export async function stopSandboxNode(options: { dir: string; node: string; log?: Logger }): Promise<NodeChange> {
  const { node } = await recordAndNode(options.dir, options.node);
  await stopNodeServices(node.nodeStateDir, options.log);
  const stopped = await stopSshd(node.sshd.pid, node);
  options.log?.info(
    { event: 'sandbox.node.down', node: node.name, pid: node.sshd.pid, stopped },
    `${node.name}: ${stopped ? `stopped sshd (pid ${node.sshd.pid})` : 'sshd was not running'}`,
  );
  return { node: node.name, pid: node.sshd.pid, running: false };
}

/** Stops the node (if running) and starts its sshd and installed runtime again. */
export async function restartSandboxNode(options: { dir: string; node: string; log?: Logger }): Promise<NodeChange> {
  await stopSandboxNode(options);
  return startSandboxNode(options);
}

/**
 * Reboots the node as a machine does: every process stops, the boot loader picks the slot (a
 * slot tried once, else the default), the node starts with a new boot id, sshd, runtime and
 * agent; a trial boot is assessed and, failing, the node reboots into its default slot.
 */
export async function rebootSandboxNode(options: { dir: string; node: string; log?: Logger }): Promise<NodeChange> {
  // The reboot hook that asked for this answers its caller first, as `systemctl reboot` does.
  await new Promise((r) => setTimeout(r, 1_000));
  await stopSandboxNode(options);
  const { node } = await recordAndNode(options.dir, options.node);
  const boot = await selectBoot(node);
  options.log?.info(
    { event: 'sandbox.node.boot', node: node.name, ...boot, status: undefined },
    `booting slot ${boot.slot} (OS ${boot.status.release}, boot ${boot.status.bootId})`,
  );
  const change = await startSandboxNode(options);
  await startAgentAtBoot(node, options.log);
  if (boot.trial && !(await assessBoot(node, boot.slot, boot.status, options.log))) {
    options.log?.warn({ event: 'sandbox.node.fallback', node: node.name }, `boot of slot ${boot.slot} failed its assessment; falling back`);
    return rebootSandboxNode(options);
  }
  return change;
}

/** Runs `fn` holding `<dir>/sandbox.lock` (a directory: mkdir is atomic); a lock older than 30 s is stale. */
async function withRecordLock<T>(dir: string, fn: () => Promise<T>): Promise<T> {
  const lock = path.join(dir, 'sandbox.lock');
  for (let i = 0; ; i++) {
    try {
      await fs.mkdir(lock);
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const age = Date.now() - ((await fs.stat(lock).catch(() => undefined))?.mtimeMs ?? Date.now());
      if (age > 30_000 || i > 600) await fs.rm(lock, { recursive: true, force: true });
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  try {
    return await fn();
  } finally {
    await fs.rm(lock, { recursive: true, force: true });
  }
}

/** Starts the node's sshd and installed runtime; records the new sshd pid. */
async function startSandboxNode(options: { dir: string; node: string; log?: Logger }): Promise<NodeChange> {
  const { record, node } = await recordAndNode(options.dir, options.node);
  const pid = await startSshd(record.sshdBinary, node);
  // Nodes of a worker window reboot at once, each in its own process: the record is read and
  // written under a lock so that no node's new pid is lost (and left running by sandbox down).
  await withRecordLock(record.dir, async () => {
    const fresh = (await readSandboxRecord(record.dir)) ?? record;
    const updated: SandboxRecord = {
      ...fresh,
      nodes: fresh.nodes.map((n) => (n.name === node.name ? { ...n, sshd: { ...n.sshd, pid } } : n)),
    };
    await writeSandboxRecord(updated);
  });
  options.log?.info(
    { event: 'sandbox.node.up', node: node.name, pid },
    `${node.name}: sshd listening on ${node.address}:${node.port} (pid ${pid})`,
  );
  const runtimeStarted = await startNodeRuntime(node.nodeStateDir);
  return { node: node.name, pid, running: await isSandboxSshd(pid, node.sshd.config), runtimeStarted };
}
