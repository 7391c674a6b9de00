/**
 * The guard file `<lock>.guard`: a mutex between processes around every fenced store write, held
 * for milliseconds. A guard left by a crashed process is cleared through its pid (or its age).
 */
import { randomBytes } from 'node:crypto';
import { promises as fs, linkSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { isErrno } from '../durable-files.js';
import { StateError } from '../errors.js';
import { type LeaseTiming, pidAlive } from './lock.js';

/** How long to wait for another process's guard before giving up. */
const GUARD_WAIT_MS = 5_000;

/** This process's turns at each guard, so that it queues behind itself instead of polling. */
const localTurns = new Map<string, Promise<unknown>>();

/**
 * Runs `fn` holding `<file>.guard`; waits briefly for another holder, clears a dead one. This
 * process's own callers take turns in memory first: polling the file against ourselves, a
 * heartbeat and a record write queued behind many appends on a loaded host ran out of
 * GUARD_WAIT_MS and failed the run with ERR_LOCK_BUSY naming no other process.
 */
export function withGuard<T>(file: string, opts: LeaseTiming, fn: () => Promise<T>): Promise<T> {
  const previous = localTurns.get(file) ?? Promise.resolve();
  const turn = previous.then(() => withFileGuard(file, opts, fn));
  const settled = turn.then(
    () => undefined,
    () => undefined,
  );
  localTurns.set(file, settled);
  void settled.then(() => {
    if (localTurns.get(file) === settled) localTurns.delete(file);
  });
  return turn;
}

async function withFileGuard<T>(file: string, opts: LeaseTiming, fn: () => Promise<T>): Promise<T> {
  const guard = `${file}.guard`;
  const content = JSON.stringify({ host: opts.hostname, pid: process.pid, token: randomBytes(4).toString('hex') });
  const deadline = Date.now() + GUARD_WAIT_MS;
  for (;;) {
    if (createGuard(guard, content)) break;
    const state = await guardState(guard, opts);
    if (state === 'gone') continue;
    if (state === 'abandoned') {
      // Residual race: two processes clearing the same abandoned guard at the same instant.
      // It needs a crash inside a millisecond-long critical section first, so we accept it.
      await fs.rm(guard, { force: true });
      continue;
    }
    if (Date.now() > deadline) {
      throw new StateError('ERR_LOCK_BUSY', `lock guard ${guard} is held by another process`, {
        hint: `retry in a moment; if no hoist process is running, remove ${guard}`,
      });
    }
    await sleep(5 + Math.random() * 10);
  }
  try {
    return await fn();
  } finally {
    releaseGuard(guard, content);
  }
}

/** Removes `guard` if it is still ours: a slow holder's guard may have been cleared and re-taken. */
function releaseGuard(guard: string, content: string): void {
  let now: string | undefined;
  try {
    now = readFileSync(guard, 'utf8');
  } catch {
    return;
  }
  if (now !== content) return;
  try {
    unlinkSync(guard);
  } catch (err) {
    ignoreMissing(err);
  }
}

/**
 * Creates `guard` holding `content`, or returns false if it exists. The guard appears with its
 * content at once (written aside, then hard-linked): created empty and written after, a kill -9
 * in between left an empty guard that no pid check could clear, and every later command failed
 * with ERR_LOCK_BUSY. A mutex, not data: a crash frees it through the pid check, so no fsync.
 * Synchronous, as its release is: a handful of metadata calls on a local file take microseconds,
 * while each asynchronous one cost a trip through the thread pool (most of a no-op phase's CPU).
 */
function createGuard(guard: string, content: string): boolean {
  const aside = `${guard}.${process.pid}.${randomBytes(4).toString('hex')}`;
  writeFileSync(aside, content, { flag: 'wx', mode: 0o644 });
  try {
    linkSync(aside, guard);
    return true;
  } catch (err) {
    if (isErrno(err, 'EEXIST')) return false;
    throw err;
  } finally {
    try {
      unlinkSync(aside);
    } catch (err) {
      ignoreMissing(err);
    }
  }
}

/** Whether a guard file still exists and whether its writer is gone (dead pid here, or too old). */
async function guardState(guard: string, opts: LeaseTiming): Promise<'gone' | 'abandoned' | 'held'> {
  let text: string;
  let mtimeMs: number;
  try {
    [text, { mtimeMs }] = await Promise.all([fs.readFile(guard, 'utf8'), fs.stat(guard)]);
  } catch (err) {
    if (isErrno(err, 'ENOENT')) return 'gone';
    throw err;
  }
  if (Date.now() - mtimeMs > opts.staleAfterMs) return 'abandoned';
  try {
    const owner = JSON.parse(text) as { host?: unknown; pid?: unknown };
    const dead = owner.host === opts.hostname && typeof owner.pid === 'number' && !pidAlive(owner.pid);
    return dead ? 'abandoned' : 'held';
  } catch {
    return 'abandoned'; // never written whole (guards appear complete): left by a crash
  }
}

function ignoreMissing(err: unknown): void {
  if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
}
