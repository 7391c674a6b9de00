/**
 * Bookkeeping of the processes a sandbox leads to, for the "nothing left running" check. Each is
 * remembered with its start time, so a pid the kernel later hands to a stranger is never taken
 * for ours (and never signalled).
 */
import { promises as fs } from 'node:fs';
import { commandLine, isAlive, waitForExit } from '../../../src/sandbox/processes.js';

const KINDS = [
  ['sshd', /sshd/],
  ['etcd', /(^|\/)etcd /],
  ['service', /service\.mjs/],
  ['agent', /hoist-agent/],
  ['kube', /kube\/main\.js/],
] as const;

/** Processes seen so far: pid → start time, and the kinds among them. */
export class ProcessTracker {
  private readonly seen = new Map<number, string>();
  /** Kinds seen (sshd, etcd, service, agent, kube), to show that the check covers each. */
  readonly kinds = new Set<string>();

  /** Remembers `pid` if it is alive now. */
  async remember(pid: number): Promise<void> {
    const start = await startTime(pid);
    if (start === undefined || !(await isAlive(pid))) return;
    this.seen.set(pid, start);
    const cmd = (await commandLine(pid)) ?? '';
    for (const [name, re] of KINDS) if (re.test(cmd)) this.kinds.add(name);
  }

  /**
   * Waits a while for every remembered process to go, then returns those still running (zombies
   * count as gone) and any live process naming `marker`, each as "pid command line".
   */
  async survivors(marker: string): Promise<Map<number, string>> {
    const pids = [...this.seen.keys()];
    await waitForExit(pids, 10_000);
    const found = new Map<number, string>();
    for (const pid of pids) {
      if ((await isAlive(pid)) && (await startTime(pid)) === this.seen.get(pid)) found.set(pid, (await commandLine(pid)) ?? '?');
    }
    for (const pid of await pidsNaming(marker)) found.set(pid, (await commandLine(pid)) ?? '?');
    return found;
  }
}

/** Live (non-zombie) processes whose command line contains `text`, this one excepted. */
export async function pidsNaming(text: string): Promise<number[]> {
  const found: number[] = [];
  for (const entry of await fs.readdir('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    const pid = Number(entry);
    if (((await commandLine(pid)) ?? '').includes(text) && (await isAlive(pid))) found.push(pid);
  }
  return found;
}

/** Field 22 of /proc/<pid>/stat: when the process started, in clock ticks since boot. */
async function startTime(pid: number): Promise<string | undefined> {
  const stat = await fs.readFile(`/proc/${pid}/stat`, 'utf8').catch(() => undefined);
  if (stat === undefined) return undefined;
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
}
