/**
 * The cluster lock: one writer per cluster. The `lock` file holds a LockRecord; its holder
 * refreshes `heartbeat` every few seconds. A lock is stale when its holder is a dead pid on this
 * host, or when its heartbeat is older than `staleAfterMs`; a stale lock is taken over.
 *
 * How exclusion holds:
 * - Creating a free lock is one link(2) of a fully written temp file to `lock`. Like O_EXCL it
 *   fails if the name exists, and unlike open+write nobody can see a half-written lock file.
 * - Every change to an EXISTING lock file (takeover, heartbeat rewrite, release) happens under
 *   a short-lived guard file (`lock.guard`, O_EXCL), and re-reads the lock inside it. So two
 *   processes that both saw a stale lock cannot both replace it: the second one re-reads the
 *   winner's fresh record and backs off. A takeover renames over the stale file, so `lock` never
 *   disappears and a plain link(2) cannot slip in between.
 * - A guard left by a crashed process (its critical sections last milliseconds) is removed when
 *   its pid is gone or it is older than `staleAfterMs`.
 */
import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { StateError } from '../errors.js';
import { fsyncDir, isErrno, readRecord, recordJson, tempPath, writeFileAtomic, writeNewFile } from './files.js';
import { lockRecordSchema } from './schema.js';
import type { ClusterLock, LockOwner, LockRecord } from './store.js';

/** Lock timing and identity of this host. */
export interface LockOptions {
  staleAfterMs: number;
  heartbeatMs: number;
  hostname: string;
}

/** How long to wait for another process's guard before giving up. */
const GUARD_WAIT_MS = 5_000;

/** True unless the pid certainly does not exist (EPERM means it exists under another user). */
export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return !isErrno(err, 'ESRCH');
  }
}

/** Whether a lock record's holder looks gone. */
export function isStale(record: LockRecord, opts: LockOptions, now = Date.now()): boolean {
  if (record.host === opts.hostname && !pidAlive(record.pid)) return true;
  const beat = Date.parse(record.heartbeat);
  return !Number.isFinite(beat) || now - beat > opts.staleAfterMs;
}

/** Reads the lock file with its staleness; undefined when nobody holds it. */
export async function readLockFile(file: string, opts: LockOptions): Promise<{ record: LockRecord; stale: boolean } | undefined> {
  const record = await readRecord(file, lockRecordSchema);
  return record && { record, stale: isStale(record, opts) };
}

/** Takes the lock at `file` for `owner`, taking over a stale holder; throws ERR_LOCK_HELD if held. */
export async function acquireLock(file: string, cluster: string, owner: LockOwner, opts: LockOptions): Promise<ClusterLock> {
  await fs.mkdir(path.dirname(file), { recursive: true });
  const now = new Date().toISOString();
  const record: LockRecord = { host: owner.host, pid: owner.pid, command: owner.command, acquired: now, heartbeat: now };
  const tmp = tempPath(file);
  await writeNewFile(tmp, recordJson(record));
  try {
    // A few rounds cover a holder that releases between our link and our read.
    for (let round = 0; round < 5; round++) {
      if (await tryLink(tmp, file)) return FileLock.start(file, record, opts);
      const current = await readLockFile(file, opts);
      if (!current) continue;
      if (!current.stale) throw lockHeld(cluster, current.record, opts);
      const won = await withGuard(file, opts, async () => {
        const again = await readLockFile(file, opts);
        if (!again) return tryLink(tmp, file);
        if (!again.stale) throw lockHeld(cluster, again.record, opts);
        await fs.rename(tmp, file);
        return true;
      });
      if (won) {
        await fsyncDir(path.dirname(file));
        return FileLock.start(file, record, opts);
      }
    }
    throw new StateError('ERR_LOCK_BUSY', `could not take the lock of cluster "${cluster}" (${file}): it keeps changing hands`, {
      hint: 'another hoist process is starting or finishing right now; retry in a moment',
    });
  } finally {
    await fs.rm(tmp, { force: true });
  }
}

/** A held lock; heartbeats until released. */
export class FileLock implements ClusterLock {
  private timer: NodeJS.Timeout | undefined;
  private beating: Promise<void> | undefined;
  private lostLock = false;

  private constructor(
    readonly file: string,
    public owner: LockRecord,
    private readonly opts: LockOptions,
  ) {}

  /** Starts heartbeats for a freshly taken lock. */
  static start(file: string, owner: LockRecord, opts: LockOptions): FileLock {
    const lock = new FileLock(file, owner, opts);
    lock.timer = setInterval(() => lock.tick(), opts.heartbeatMs);
    // The lock must never keep the process alive on its own.
    lock.timer.unref();
    return lock;
  }

  /** True once a heartbeat found the lock taken over by someone else. */
  get lost(): boolean {
    return this.lostLock;
  }

  /** Refreshes the heartbeat now; false when the lock is no longer ours. */
  async heartbeat(): Promise<boolean> {
    if (this.lostLock) return false;
    const next: LockRecord = { ...this.owner, heartbeat: new Date().toISOString() };
    const ours = await withGuard(this.file, this.opts, async () => {
      if (!this.isOurs(await readRecord(this.file, lockRecordSchema))) return false;
      await writeFileAtomic(this.file, recordJson(next));
      return true;
    });
    if (ours) this.owner = next;
    else this.stop(true);
    return ours;
  }

  /** Stops heartbeats and removes the lock file if it is still ours. */
  async release(): Promise<void> {
    this.stop(false);
    await this.beating;
    if (this.lostLock) return;
    try {
      await withGuard(this.file, this.opts, async () => {
        if (!this.isOurs(await readRecord(this.file, lockRecordSchema))) return;
        await fs.rm(this.file, { force: true });
        await fsyncDir(path.dirname(this.file));
      });
    } catch (err) {
      // A guard stuck on another live process: our lock goes stale once this process exits.
      if (!(err instanceof StateError && err.code === 'ERR_LOCK_BUSY')) throw err;
    }
  }

  private tick(): void {
    if (this.beating) return;
    this.beating = this.heartbeat()
      .then(() => undefined)
      // A failed heartbeat is retried on the next tick; staleness needs several misses.
      .catch(() => undefined)
      .finally(() => (this.beating = undefined));
  }

  private stop(lost: boolean): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    if (lost) this.lostLock = true;
  }

  private isOurs(record: LockRecord | undefined): boolean {
    return !!record && record.host === this.owner.host && record.pid === this.owner.pid && record.acquired === this.owner.acquired;
  }
}

/** link(2) that reports EEXIST as false. */
async function tryLink(from: string, to: string): Promise<boolean> {
  try {
    await fs.link(from, to);
  } catch (err) {
    if (isErrno(err, 'EEXIST')) return false;
    throw err;
  }
  await fsyncDir(path.dirname(to));
  return true;
}

/** Runs `fn` holding `<file>.guard`; waits briefly for another holder, clears a dead one. */
async function withGuard<T>(file: string, opts: LockOptions, fn: () => Promise<T>): Promise<T> {
  const guard = `${file}.guard`;
  const content = JSON.stringify({ host: opts.hostname, pid: process.pid, token: randomBytes(4).toString('hex') });
  const deadline = Date.now() + GUARD_WAIT_MS;
  for (;;) {
    try {
      await writeNewFile(guard, content);
      break;
    } catch (err) {
      if (!isErrno(err, 'EEXIST')) throw err;
    }
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
    // Remove only our own guard: a slow holder's guard may have been cleared and re-taken.
    const now = await fs.readFile(guard, 'utf8').catch(() => undefined);
    if (now === content) await fs.rm(guard, { force: true });
  }
}

/** Whether a guard file still exists and whether its writer is gone (dead pid here, or too old). */
async function guardState(guard: string, opts: LockOptions): Promise<'gone' | 'abandoned' | 'held'> {
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
    return 'held'; // still being written by its creator
  }
}

/** The "lock held" error naming the holder. */
function lockHeld(cluster: string, record: LockRecord, opts: LockOptions): StateError {
  return new StateError(
    'ERR_LOCK_HELD',
    `cluster "${cluster}" is locked by "${record.command}" (pid ${record.pid} on host ${record.host}) since ${record.acquired}`,
    {
      hint:
        'wait for that command to finish; if that process is gone, re-run this command: the lock is taken over ' +
        `once stale (its pid gone, or no heartbeat for ${Math.round(opts.staleAfterMs / 1000)} s; last heartbeat ${record.heartbeat})`,
    },
  );
}
