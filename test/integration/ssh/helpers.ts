/** Helpers of the SSH and sandbox integration tests: process inspection through /proc and error capture. */
import { promises as fs } from 'node:fs';

export { caught } from '../../helpers/caught.js';

export interface Proc {
  pid: number;
  ppid: number;
  comm: string;
  cmdline: string;
}

/** Every live (non-zombie) process on the machine. */
export async function processes(): Promise<Proc[]> {
  const list: Proc[] = [];
  for (const entry of await fs.readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = await fs.readFile(`/proc/${entry}/stat`, 'utf8').catch(() => '');
    const close = stat.lastIndexOf(')');
    if (close < 0) continue;
    const [state, ppid] = stat.slice(close + 2).split(' ');
    if (state === 'Z') continue;
    const cmdline = (await fs.readFile(`/proc/${entry}/cmdline`, 'utf8').catch(() => '')).split('\0').join(' ').trim();
    list.push({ pid: Number(entry), ppid: Number(ppid), comm: stat.slice(stat.indexOf('(') + 1, close), cmdline });
  }
  return list;
}

/** sshd processes directly below a listener: one per open connection (plus ones mid-handshake). */
export async function sshdConnections(listenerPid: number): Promise<number> {
  return (await processes()).filter((p) => p.ppid === listenerPid && p.comm === 'sshd').length;
}

/** Pids of sshd processes whose command line mentions `text` (a sandbox dir), and their sshd descendants. */
export async function sandboxSshds(text: string): Promise<number[]> {
  const all = await processes();
  const roots = all.filter((p) => p.comm === 'sshd' && p.cmdline.includes(text)).map((p) => p.pid);
  const found = new Set(roots);
  let grew = true;
  while (grew) {
    grew = false;
    for (const p of all) {
      if (p.comm === 'sshd' && found.has(p.ppid) && !found.has(p.pid)) {
        found.add(p.pid);
        grew = true;
      }
    }
  }
  return [...found];
}

/** True when some live process has exactly this command line. */
export async function running(cmdline: string): Promise<boolean> {
  return (await processes()).some((p) => p.cmdline === cmdline);
}

/** Polls `check` until it holds; throws after `attempts` tries (no timing is asserted). */
export async function eventually(check: () => Promise<boolean>, attempts = 200): Promise<void> {
  for (let i = 0; i < attempts; i++) {
    if (await check()) return;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  throw new Error('condition not reached');
}
