/**
 * Processes the sandbox started, identified through /proc. A recorded pid is only ever signalled
 * after /proc confirms it still is the sshd started with that node's config: pids are reused, and
 * killing a stranger's process is far worse than leaving a stale sandbox behind.
 */
import { promises as fs } from 'node:fs';

/** True when `pid` exists and is not a zombie waiting to be reaped. */
export async function isAlive(pid: number): Promise<boolean> {
  const stat = await fs.readFile(`/proc/${pid}/stat`, 'utf8').catch(() => undefined);
  if (stat === undefined) return false;
  return procState(stat) !== 'Z';
}

/** The process command line with NULs as spaces (sshd rewrites its argv into one title string). */
export async function commandLine(pid: number): Promise<string | undefined> {
  const raw = await fs.readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => undefined);
  return raw?.split('\0').join(' ').trim();
}

/** True when `pid` is a live sshd started with `-f config`. */
export async function isSandboxSshd(pid: number, config: string): Promise<boolean> {
  if (!(await isAlive(pid))) return false;
  const comm = (await fs.readFile(`/proc/${pid}/comm`, 'utf8').catch(() => '')).trim();
  const cmd = await commandLine(pid);
  return comm === 'sshd' && cmd !== undefined && cmd.includes(`-f ${config}`);
}

/** Pids of the live sshd processes below `pid` (per-connection sessions of a listener). */
export async function sshdDescendants(pid: number): Promise<number[]> {
  const children = new Map<number, number[]>();
  const comms = new Map<number, string>();
  for (const entry of await fs.readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = await fs.readFile(`/proc/${entry}/stat`, 'utf8').catch(() => undefined);
    if (!stat) continue;
    const parsed = parseStat(stat);
    if (!parsed || parsed.state === 'Z') continue;
    comms.set(Number(entry), parsed.comm);
    const list = children.get(parsed.ppid) ?? [];
    list.push(Number(entry));
    children.set(parsed.ppid, list);
  }
  const found: number[] = [];
  const queue = [...(children.get(pid) ?? [])];
  while (queue.length > 0) {
    const next = queue.shift()!;
    if (comms.get(next) === 'sshd') found.push(next);
    queue.push(...(children.get(next) ?? []));
  }
  return found;
}

/** Sends `signal`, ignoring a process that is already gone. */
export function signalProcess(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(pid, signal);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ESRCH') throw err;
  }
}

/** Waits until none of `pids` is alive; false if some still are after `timeoutMs`. */
export async function waitForExit(pids: number[], timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const alive = await Promise.all(pids.map(isAlive));
    if (!alive.some(Boolean)) return true;
    if (Date.now() >= deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** TERM, then KILL after a grace period, and wait until every pid is gone. */
export async function terminate(pids: number[], graceMs = 5_000): Promise<void> {
  for (const pid of pids) signalProcess(pid, 'SIGTERM');
  if (await waitForExit(pids, graceMs)) return;
  for (const pid of pids) signalProcess(pid, 'SIGKILL');
  await waitForExit(pids, graceMs);
}

// /proc/<pid>/stat: "pid (comm) state ppid ..."; comm may hold spaces and parentheses.
function parseStat(stat: string): { comm: string; state: string; ppid: number } | undefined {
  const open = stat.indexOf('(');
  const close = stat.lastIndexOf(')');
  if (open < 0 || close < 0) return undefined;
  const rest = stat.slice(close + 2).split(' ');
  return { comm: stat.slice(open + 1, close), state: rest[0] ?? '', ppid: Number(rest[1]) };
}

function procState(stat: string): string {
  return parseStat(stat)?.state ?? '';
}
