/**
 * The cluster lease: one writer per cluster, fenced by an epoch. The `lock` file holds a
 * LeaseRecord; its holder renews `heartbeat`/`expires` every `heartbeatMs`. A lease is stale
 * when it was released, when its holder is a dead pid on this host, or when `expires` passed; a
 * stale lease is taken over. The file is never removed: release marks it released and keeps the
 * epoch, so the next holder gets epoch + 1 even after a restart (a fencing token that only grows).
 *
 * How exclusion holds: every read-modify-write of the lock file (acquire, takeover, heartbeat,
 * release) and every fenced store write happens under a short-lived guard file (`lock.guard`,
 * O_EXCL) and re-reads the lock inside it. A fenced write compares the stored epoch with its
 * lease's; a takeover needs the same guard, so it can never land between that check and the
 * write. A guard left by a crashed process (its critical sections last milliseconds) is removed
 * when its pid is gone or it is older than the TTL.
 *
 * A paused process (SIGSTOP, a suspended VM) cannot notice that its lease expired while paused,
 * so a lease checks wall time since its last successful heartbeat before every fenced write and
 * gives itself up once past expiry, whether or not someone took over yet.
 */
import { promises as fs, readFileSync } from 'node:fs';
import path from 'node:path';
import { isErrno, readRecord, recordJson, writeFileAtomic } from '../durable-files.js';
import { StateError } from '../errors.js';
import { withGuard } from './guard.js';
import { lockRecordSchema } from './schema.js';
import type { Lease, LeaseOwner, LeaseRecord, LeaseRequest, LeaseState, LeaseTakeover } from './store.js';

/** Lease timing and identity of this host. */
export interface LeaseTiming {
  /** A lease not renewed for this long expires (and so is stale). */
  staleAfterMs: number;
  heartbeatMs: number;
  hostname: string;
}

/** True unless the pid certainly does not exist (EPERM means it exists under another user). */
export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return !isErrno(err, 'ESRCH');
  }
}

/** Whether a lease record's holder is gone (released, dead pid here, or expired). */
export function isStale(record: LeaseRecord, opts: LeaseTiming, now = Date.now()): boolean {
  if (record.released) return true;
  if (record.host === opts.hostname && !pidAlive(record.pid)) return true;
  const expires = Date.parse(record.expires);
  return !Number.isFinite(expires) || now > expires;
}

/**
 * The lease record as stored, released or not. A damaged lock file holds no epoch to continue
 * from, so the way out is to remove it once no writer is left; the hint says so.
 */
export async function readLeaseRecord(file: string): Promise<LeaseRecord | undefined> {
  try {
    return await readRecord(file, lockRecordSchema);
  } catch (err) {
    if (!(err instanceof StateError) || err.code !== 'ERR_STORE_CORRUPT') throw err;
    throw new StateError(err.code, err.message, {
      hint: `make sure no hoist command is running for this cluster (any host sharing this state directory), then remove ${file}; the next command takes a fresh lease`,
      details: err.details,
      cause: err,
    });
  }
}

/** Reads the lease with its staleness; undefined when nobody holds it (none, or released). */
export async function readLockFile(file: string, opts: LeaseTiming): Promise<LeaseState | undefined> {
  const record = await readLeaseRecord(file);
  if (!record || record.released) return undefined;
  return { record, stale: isStale(record, opts) };
}

/**
 * Takes the lease at `file` for `owner` with the next epoch. A stale holder, or any holder with
 * `takeOver`, is taken over and recorded as `lastTakeover`; a live one is ERR_LOCK_HELD.
 */
export async function acquireLock(
  file: string,
  cluster: string,
  owner: LeaseOwner,
  opts: LeaseTiming,
  request: LeaseRequest = {},
): Promise<FileLease> {
  await fs.mkdir(path.dirname(file), { recursive: true });
  const record = await withGuard(file, opts, async () => {
    const current = await readLeaseRecord(file);
    const held = current && !current.released ? current : undefined;
    if (held && !isStale(held, opts) && !request.takeOver) throw lockHeld(cluster, held, opts);
    const now = Date.now();
    const at = new Date(now).toISOString();
    const epoch = (current?.epoch ?? 0) + 1;
    const me = { host: owner.host, pid: owner.pid, command: owner.command };
    const takeover: LeaseTakeover | undefined = held && {
      host: held.host,
      pid: held.pid,
      command: held.command,
      epoch: held.epoch,
      heartbeat: held.heartbeat,
      at,
      by: { ...me, epoch },
    };
    const lastTakeover = takeover ?? current?.lastTakeover;
    const next: LeaseRecord = {
      ...me,
      epoch,
      acquired: at,
      heartbeat: at,
      expires: new Date(now + opts.staleAfterMs).toISOString(),
      ...(lastTakeover ? { lastTakeover } : {}),
    };
    await writeFileAtomic(file, recordJson(next));
    return { next, at: now, takeover };
  });
  return FileLease.start(file, cluster, record.next, record.at, opts, record.takeover);
}

/** A held lease; heartbeats until released or lost. */
export class FileLease implements Lease {
  private timer: NodeJS.Timeout | undefined;
  private beating: Promise<unknown> | undefined;
  private readonly controller = new AbortController();
  /** Wall time (ms) of the last heartbeat that the lock file took. */
  private renewedAt: number;

  private constructor(
    readonly file: string,
    readonly cluster: string,
    public owner: LeaseRecord,
    renewedAt: number,
    private readonly opts: LeaseTiming,
    /** The holder this acquisition took the lease from, if any. */
    readonly takeover: LeaseTakeover | undefined,
  ) {
    this.renewedAt = renewedAt;
  }

  /** Starts heartbeats for a freshly taken lease. */
  static start(
    file: string,
    cluster: string,
    owner: LeaseRecord,
    renewedAt: number,
    opts: LeaseTiming,
    takeover?: LeaseTakeover,
  ): FileLease {
    const lease = new FileLease(file, cluster, owner, renewedAt, opts, takeover);
    lease.timer = setInterval(() => lease.tick(), opts.heartbeatMs);
    // The lease must never keep the process alive on its own.
    lease.timer.unref();
    return lease;
  }

  get epoch(): number {
    return this.owner.epoch;
  }

  get signal(): AbortSignal {
    return this.controller.signal;
  }

  /** True once the lease was found taken over or expired. */
  get lost(): boolean {
    return this.controller.signal.aborted;
  }

  assertHeld(): void {
    if (this.lost) throw this.controller.signal.reason;
    const silent = Date.now() - this.renewedAt;
    if (silent > this.opts.staleAfterMs) {
      this.markLost(leaseExpired(this.cluster, this.owner, silent, this.opts));
      throw this.controller.signal.reason;
    }
  }

  /** Ends the lease for this process: heartbeats stop and `signal` aborts with `err`. */
  markLost(err: StateError): void {
    this.stopTimer();
    if (!this.lost) this.controller.abort(err);
  }

  /** Renews the lease now; false (and the lease lost) when it is no longer ours. */
  async heartbeat(): Promise<boolean> {
    if (this.lost) return false;
    try {
      await this.fenced(async () => {
        const now = Date.now();
        const next: LeaseRecord = {
          ...this.owner,
          heartbeat: new Date(now).toISOString(),
          expires: new Date(now + this.opts.staleAfterMs).toISOString(),
        };
        await writeFileAtomic(this.file, recordJson(next), { durable: false });
        this.owner = next;
        this.renewedAt = now;
      });
      return true;
    } catch (err) {
      if (this.lost) return false;
      throw err;
    }
  }

  /**
   * Runs `fn` under the guard once the lock file still names this lease (same epoch, not
   * released) and the lease has not expired; otherwise marks the lease lost and throws
   * ERR_LOCK_LOST naming the current holder.
   */
  async fenced<T>(fn: () => Promise<T>): Promise<T> {
    if (this.lost) throw this.controller.signal.reason;
    // The expiry check comes after the read, so that a paused process that was taken over
    // learns (and reports) who holds the lease now.
    return withGuard(this.file, this.opts, async () => {
      // Fast path on every append: only epoch and released matter; the full (validated) read
      // is for the message when the lease is gone.
      if (!(await this.stillOurs())) this.markLost(leaseTaken(this.cluster, this.owner, await readLeaseRecord(this.file)));
      this.assertHeld();
      return fn();
    });
  }

  private async stillOurs(): Promise<boolean> {
    try {
      // Synchronous like the guard around it (guard.ts): one small local file, read on every append.
      const raw = JSON.parse(readFileSync(this.file, 'utf8')) as { epoch?: unknown; released?: unknown };
      return raw.epoch === this.owner.epoch && raw.released === undefined;
    } catch {
      return false;
    }
  }

  /** Stops heartbeats and marks the lease released (keeping its epoch) if it is still ours. */
  async release(): Promise<void> {
    this.stopTimer();
    await this.beating;
    if (this.lost) return;
    try {
      await withGuard(this.file, this.opts, async () => {
        const current = await readLeaseRecord(this.file);
        if (!current || current.released || current.epoch !== this.owner.epoch) return;
        await writeFileAtomic(this.file, recordJson({ ...current, released: new Date().toISOString() }));
      });
    } catch (err) {
      // A guard stuck on another live process: our lease expires on its own.
      if (!(err instanceof StateError && err.code === 'ERR_LOCK_BUSY')) throw err;
    }
    this.controller.abort(new StateError('ERR_LOCK_RELEASED', `the lease of cluster "${this.cluster}" was released`));
  }

  private tick(): void {
    if (this.beating) return;
    this.beating = this.heartbeat()
      // A failed heartbeat is retried on the next tick; the expiry check catches long gaps.
      .catch(() => undefined)
      .finally(() => (this.beating = undefined));
  }

  private stopTimer(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }
}

/** Runs `fn` as a write fenced by `lease`: a FileLease of this file checks under its guard. */
export async function fencedWrite<T>(file: string, cluster: string, lease: Lease, opts: LeaseTiming, fn: () => Promise<T>): Promise<T> {
  if (lease instanceof FileLease && lease.file === file) return lease.fenced(fn);
  // A lease of another cluster, store or backend cannot fence this file.
  throw new StateError('ERR_LOCK_NOT_HELD', `this write to cluster "${cluster}" does not carry the lease of ${file}`, {
    hint: `this is a bug in the caller: take the cluster lease of this store before writing (lease TTL ${opts.staleAfterMs} ms)`,
  });
}

/** "taken over from pid 123 on host-a at …" for `plan` and `status`. */
export function describeTakeover(t: LeaseTakeover): string {
  return `taken over from pid ${t.pid} on ${t.host} ("${t.command}", epoch ${t.epoch}, last heartbeat ${t.heartbeat}) at ${t.at} by pid ${t.by.pid} on ${t.by.host} ("${t.by.command}", epoch ${t.by.epoch})`;
}

export function leaseTaken(cluster: string, mine: LeaseRecord, current: LeaseRecord | undefined): StateError {
  const who =
    current && !current.released
      ? `taken over by "${current.command}" (pid ${current.pid} on host ${current.host}, epoch ${current.epoch}) at ${current.acquired}`
      : current
        ? `released by epoch ${current.epoch} at ${current.released}`
        : 'its lock file is gone';
  return new StateError('ERR_LOCK_LOST', `lost the lease of cluster "${cluster}" (epoch ${mine.epoch}): ${who}`, {
    hint: 'this command stopped before writing anything more; see "hoist plan" and "hoist status", and let the new owner finish (or resume once it is gone)',
  });
}

function seconds(ms: number): string {
  return `${ms < 10_000 ? (ms / 1000).toFixed(1) : Math.round(ms / 1000)} s`;
}

export function leaseExpired(cluster: string, mine: LeaseRecord, silentMs: number, opts: LeaseTiming): StateError {
  return new StateError(
    'ERR_LOCK_LOST',
    `lost the lease of cluster "${cluster}" (epoch ${mine.epoch}): no heartbeat for ${seconds(silentMs)}, past its ${seconds(opts.staleAfterMs)} expiry (was this process paused?)`,
    {
      hint: 'another command may have taken over; this one stopped before writing anything more; see "hoist plan" and "hoist status", then "hoist plan resume"',
    },
  );
}

/** The "lock held" error naming the holder. */
export function lockHeld(cluster: string, record: LeaseRecord, opts: LeaseTiming): StateError {
  return new StateError(
    'ERR_LOCK_HELD',
    `cluster "${cluster}" is locked by "${record.command}" (pid ${record.pid} on host ${record.host}) since ${record.acquired}`,
    {
      hint:
        'wait for that command to finish; if that process is gone, re-run this command: the lease is taken over ' +
        `once stale (its pid gone, or past its expiry ${record.expires}, ${Math.round(opts.staleAfterMs / 1000)} s after the last heartbeat ${record.heartbeat}); ` +
        'if you know it is gone (another host, a hung process), "hoist plan resume --force" takes it over now',
    },
  );
}
