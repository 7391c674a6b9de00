/**
 * Processes an execution leaves behind when its agent dies. A hook runs in a process group of its
 * own, so that a stop reaches its whole tree; the same detachment keeps the group running when the
 * agent is killed -9, with nobody to supervise it, and a resume would start the same step a second
 * time beside it. Every hook process carries its state dir and execution id in its environment
 * (HOIST_STATE_DIR, HOIST_EXECUTION_ID), so the next agent finds the groups of this state dir's
 * unfinished executions and stops them before it serves anything. Nothing is recorded at spawn
 * time, so a kill of the agent right after a spawn leaves no group unaccounted for.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import type { Logger } from 'pino';
import { KILL_GRACE_MS, killGroup } from '../process-group.js';

interface ProcessInfo {
  pid: number;
  pgid: number;
}

/** Live (not zombie) processes with their process group (field 5 of /proc/PID/stat). */
async function processes(): Promise<ProcessInfo[]> {
  const pids = (await fs.readdir('/proc').catch(() => [] as string[])).filter((p) => /^\d+$/.test(p));
  const found: ProcessInfo[] = [];
  for (const pid of pids) {
    const stat = await fs.readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '');
    // The command name (field 2) may hold spaces; fields are counted after its closing `)`.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (fields.length > 2 && fields[0] !== 'Z') found.push({ pid: Number(pid), pgid: Number(fields[2]) });
  }
  return found;
}

function envValue(environ: string, key: string): string | undefined {
  const entry = environ.split('\0').find((e) => e.startsWith(`${key}=`));
  return entry?.slice(key.length + 1);
}

/**
 * Stops the process groups of this state dir's executions recorded under `root` without a result
 * (their agent died while they ran). Returns the ids of the executions whose processes were stopped.
 */
export async function stopOrphanedGroups(stateDir: string, root: string, log: Logger): Promise<string[]> {
  const groups = new Map<number, string>();
  for (const p of await processes()) {
    if (p.pid === process.pid) continue;
    const environ = await fs.readFile(`/proc/${p.pid}/environ`, 'utf8').catch(() => '');
    if (envValue(environ, 'HOIST_STATE_DIR') !== stateDir) continue;
    const id = envValue(environ, 'HOIST_EXECUTION_ID');
    if (!id || id.includes('/') || groups.has(p.pgid)) continue;
    // Only a recorded execution without a result was cut off: a service that a finished hook started
    // (or one started in process, which records nothing) is meant to outlive its execution.
    const recorded = await exists(path.join(root, id, 'request.json'));
    if (recorded && !(await exists(path.join(root, id, 'result.json')))) groups.set(p.pgid, id);
  }
  for (const [pgid, id] of groups) {
    log.warn({ execution: id, pgid }, 'stopping the processes of an execution whose agent died');
    killGroup(pgid, 'SIGTERM');
    if (!(await groupGone(pgid, KILL_GRACE_MS))) {
      killGroup(pgid, 'SIGKILL');
      await groupGone(pgid, KILL_GRACE_MS);
    }
  }
  return [...new Set(groups.values())];
}

function exists(file: string): Promise<boolean> {
  return fs.access(file).then(
    () => true,
    () => false,
  );
}

async function groupGone(pgid: number, waitMs: number): Promise<boolean> {
  const deadline = Date.now() + waitMs;
  for (;;) {
    if (!(await processes()).some((p) => p.pgid === pgid)) return true;
    if (Date.now() > deadline) return false;
    await new Promise((r) => setTimeout(r, 50));
  }
}
