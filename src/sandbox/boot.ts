/**
 * A sandbox node's firmware and boot: A/B slots under the node root, a boot selection with a
 * "try once" entry, a new boot id every boot, and the boot assessment a real host runs as a boot
 * unit (systemd's boot-complete, an RAUC/elemental health check). The OS package's hooks
 * (fixtures/os/os.mjs) write slots and the selection; this file only boots what they selected:
 *
 *   <nodeDir>/slots/<a|b>/etc/os-release      VERSION_ID=<release>
 *   <nodeDir>/slots/<s>/assessment.json        { timeoutSeconds, checks: [{ name, run }] }
 *   <nodeDir>/boot/loader.json                 { default, next }   next is tried once
 *   <nodeDir>/sbin/reboot                      what the package's reboot hook calls
 *   <nodeStateDir>/os/status.json              the node's report (src/agent/actions/os-status.ts)
 */
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { promises as fs, openSync } from 'node:fs';
import path from 'node:path';
import { execa } from 'execa';
import type { Logger } from 'pino';
import { type OsStatus, osStatusFile } from '../agent/actions/os-status.js';
import { writeFileAtomic } from '../durable-files.js';
import { packagePath } from '../package-root.js';
import type { SandboxNodeRecord } from './manifest.js';

/** The OS release every sandbox node is built with, in slot a. */
export const FACTORY_OS_RELEASE = '2.0.0';
const SLOTS = ['a', 'b'] as const;
const OUTPUT_TAIL = 4096;

type NodeDirs = Pick<SandboxNodeRecord, 'name' | 'nodeDir' | 'nodeStateDir'>;
interface Loader {
  default: string;
  next: string | null;
}

const loaderFile = (n: NodeDirs) => path.join(n.nodeDir, 'boot', 'loader.json');
const readJson = async <T>(file: string): Promise<T> => JSON.parse(await fs.readFile(file, 'utf8')) as T;
const writeJson = async (file: string, value: unknown) => {
  await fs.mkdir(path.dirname(file), { recursive: true });
  await writeFileAtomic(file, `${JSON.stringify(value, null, 2)}\n`);
};

async function releaseOf(n: NodeDirs, slot: string): Promise<string | null> {
  const text = await fs.readFile(path.join(n.nodeDir, 'slots', slot, 'etc', 'os-release'), 'utf8').catch(() => '');
  return /^VERSION_ID=(.*)$/m.exec(text)?.[1] ?? null;
}

/** Lays down the factory OS in slot a, the boot selection and sbin/reboot, then boots it. */
export async function installFactoryOs(n: NodeDirs, sandboxDir: string): Promise<void> {
  const etc = path.join(n.nodeDir, 'slots', 'a', 'etc');
  await fs.mkdir(etc, { recursive: true });
  await fs.writeFile(path.join(etc, 'os-release'), `NAME="Sandbox OS"\nVERSION_ID=${FACTORY_OS_RELEASE}\n`);
  await writeJson(loaderFile(n), { default: 'a', next: null } satisfies Loader);
  const hoist = packagePath('bin', 'hoist');
  const log = path.join(n.nodeDir, 'var', 'log', 'boot.log');
  const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
  const script = [
    '#!/bin/sh',
    '# The sandbox node reboot: the sandbox stops every process of this node and boots it again.',
    `HOIST_STATE_DIR=${q(sandboxDir)} setsid ${q(process.execPath)} ${q(hoist)} sandbox reboot-node ${q(n.name)} --dir ${q(sandboxDir)} >> ${q(log)} 2>&1 < /dev/null &`,
    '',
  ].join('\n');
  await fs.mkdir(path.join(n.nodeDir, 'sbin'), { recursive: true });
  await fs.writeFile(path.join(n.nodeDir, 'sbin', 'reboot'), script, { mode: 0o755 });
  await selectBoot(n);
}

/**
 * The boot loader's part of a boot: take the slot tried once (clearing it, so the boot after
 * falls back) or the default, give the boot a new id and write the node's report.
 * @returns the booted slot and whether it is a trial boot that needs an assessment.
 */
export async function selectBoot(n: NodeDirs): Promise<{ slot: string; trial: boolean; status: OsStatus }> {
  const loader = await readJson<Loader>(loaderFile(n));
  const trial = loader.next !== null && loader.next !== loader.default;
  const slot = loader.next ?? loader.default;
  await writeJson(loaderFile(n), { default: loader.default, next: null } satisfies Loader);
  await fs.rm(path.join(n.nodeDir, 'etc', 'os-release'), { force: true });
  await fs.symlink(path.join('..', 'slots', slot, 'etc', 'os-release'), path.join(n.nodeDir, 'etc', 'os-release'));
  const previous = await readJson<OsStatus>(osStatusFile(n.nodeStateDir)).catch(() => undefined);
  const bootId = randomUUID();
  const status: OsStatus = {
    release: (await releaseOf(n, slot)) ?? 'unknown',
    bootId,
    activeSlot: slot,
    defaultSlot: loader.default,
    nextSlot: null,
    slots: Object.fromEntries(await Promise.all(SLOTS.map(async (s) => [s, { release: await releaseOf(n, s) }]))),
    // A fallback boot keeps the failed trial's verdict: it is how the node says why it came back.
    assessment: trial ? { bootId, slot, state: 'pending', at: new Date().toISOString() } : (previous?.assessment ?? null),
  };
  await writeJson(osStatusFile(n.nodeStateDir), status);
  return { slot, trial, status };
}

/** Starts the node's agent the way its deploy did, if one is deployed (a real host's enabled unit). */
export async function startAgentAtBoot(n: NodeDirs, log?: Logger): Promise<boolean> {
  const dir = path.join(n.nodeStateDir, 'agent');
  const [bin, bundle] = [path.join(dir, 'node'), path.join(dir, 'hoist-agent.mjs')];
  if (!(await fs.stat(bundle).catch(() => undefined)) || !(await fs.stat(bin).catch(() => undefined))) return false;
  const out = openSync(path.join(dir, 'agent.out'), 'a');
  const child = spawn(bin, [bundle, '--state-dir', n.nodeStateDir], { cwd: '/', detached: true, stdio: ['ignore', out, out] });
  child.unref();
  log?.info({ event: 'sandbox.agent.started', node: n.name, pid: child.pid }, `${n.name}: agent started at boot (pid ${child.pid})`);
  return true;
}

/**
 * The boot assessment of a trial boot: the slot's checks, in order, within its timeout. A pass
 * makes the slot the default; a failure records the check and its output tail.
 * @returns true when the boot is kept.
 */
export async function assessBoot(n: NodeDirs, slot: string, status: OsStatus, log?: Logger): Promise<boolean> {
  const spec = await readJson<{ timeoutSeconds: number; checks: { name: string; run: string | string[] }[] }>(
    path.join(n.nodeDir, 'slots', slot, 'assessment.json'),
  ).catch(() => ({ timeoutSeconds: 300, checks: [] }));
  const deadline = Date.now() + spec.timeoutSeconds * 1000;
  let failed: { check: string; output: string } | undefined;
  for (const check of spec.checks) {
    const [file, ...args] = typeof check.run === 'string' ? ['/bin/sh', '-c', check.run] : check.run;
    const r = await execa(file!, args, {
      cwd: n.nodeDir,
      env: { HOIST_NODE_ROOT: n.nodeDir, HOIST_STATE_DIR: n.nodeStateDir },
      all: true,
      reject: false,
      timeout: Math.max(1, deadline - Date.now()),
    });
    log?.info(
      { event: 'sandbox.boot.check', node: n.name, check: check.name, exitCode: r.exitCode },
      `${n.name}: check ${check.name}: ${r.exitCode ?? r.signal}`,
    );
    if (r.timedOut)
      failed = { check: 'timeout', output: `check "${check.name}" was still running after ${spec.timeoutSeconds} s\n${r.all ?? ''}` };
    else if (r.exitCode !== 0) failed = { check: check.name, output: String(r.all ?? '') };
    if (failed) break;
  }
  const at = new Date().toISOString();
  if (!failed) {
    const loader = await readJson<Loader>(loaderFile(n));
    await writeJson(loaderFile(n), { default: slot, next: loader.next } satisfies Loader);
    await writeJson(osStatusFile(n.nodeStateDir), {
      ...status,
      defaultSlot: slot,
      assessment: { bootId: status.bootId, slot, state: 'passed', at },
    });
    return true;
  }
  const assessment = { bootId: status.bootId, slot, state: 'failed', check: failed.check, output: failed.output.slice(-OUTPUT_TAIL), at };
  await writeJson(osStatusFile(n.nodeStateDir), { ...status, assessment });
  return false;
}
