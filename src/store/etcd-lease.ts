/**
 * The cluster lease on etcd. Two keys per cluster:
 *
 *   <prefix>clusters/<name>/lease        the LeaseRecord (epoch, holder, last takeover); never deleted
 *   <prefix>clusters/<name>/lease-alive  attached to an etcd lease that the holder keeps alive
 *
 * The holder is alive exactly while `lease-alive` exists and is attached to its etcd lease: a
 * holder that dies or pauses past the TTL loses it to etcd itself, not to a clock on this host.
 * Every fenced write is one transaction that compares `lease`'s mod revision with the one this
 * holder wrote at acquisition AND `lease-alive`'s lease with this holder's etcd lease, so a write
 * after a takeover or after expiry is refused by etcd, atomically with the write.
 *
 * A paused holder cannot tell that its etcd lease expired while it was stopped, so, as the JSON
 * lease does, it gives itself up once its last acknowledged keepalive is older than the TTL, and a
 * lost keepalive (etcd says the lease is gone) aborts `signal` at once. A holder that kept running
 * while etcd did not answer (members down, quorum lost) gives itself up the same way, but says
 * so: ERR_STORE_UNAVAILABLE naming the store, not "paused".
 */
import type { Etcd3, Lease as EtcdLeaseHandle } from 'etcd3';
import { type HoistError, StateError } from '../errors.js';
import { loadLeaseInvalidError } from '../etcd3-client.js';
import { type LeaseTiming, leaseExpired, leaseTaken } from './lock.js';
import type { Lease, LeaseRecord } from './store.js';

/** What a fenced write compares, as [key, target, value] triples. */
export type Compare = [key: string, target: 'Mod' | 'Lease' | 'Version', value: string | number];

/** Keys of one cluster's lease. */
export interface LeaseKeys {
  record: string;
  alive: string;
}

/** A held cluster lease backed by an etcd lease. */
export class EtcdLease implements Lease {
  private readonly controller = new AbortController();
  private renewedAt: number;
  private timer: NodeJS.Timeout | undefined;
  /** When this process last ran its lease check: a long gap means it was paused. */
  private tickedAt: number;
  /** Why the last keepalive went unanswered, when etcd did not say the lease is gone. */
  private unanswered?: unknown;

  constructor(
    readonly client: Etcd3,
    readonly keys: LeaseKeys,
    readonly cluster: string,
    readonly owner: LeaseRecord,
    /** Mod revision of the lease record as this holder wrote it. */
    readonly recordRevision: string,
    private readonly handle: EtcdLeaseHandle,
    /** The etcd lease id. */
    readonly leaseId: string,
    private readonly timing: LeaseTiming,
    /** The error of an etcd that did not answer (etcd-client.ts storeUnavailable). */
    private readonly unavailable: (what: string, cause: unknown) => HoistError,
  ) {
    this.renewedAt = Date.now();
    this.tickedAt = this.renewedAt;
    handle.on('keepaliveSucceeded', () => {
      this.renewedAt = Date.now();
      this.unanswered = undefined;
    });
    // etcd3 types this event's argument as a response; it is the error (lease.js handleKeepaliveError).
    handle.on('keepaliveFailed', (failure) => {
      const err = failure as unknown;
      if (!(err instanceof loadLeaseInvalidError())) this.unanswered = err;
    });
    // etcd3 gives a lease up after two TTLs without an answer, with an "invalid lease" error too.
    handle.on('lost', (err: Error) => this.markLost(this.expiredError(/lost connection/i.test(err.message) ? err : undefined)));
    // The keepalive stream can stall without an error; the engine must still stop once past the TTL.
    this.timer = setInterval(() => {
      const now = Date.now();
      const paused = now - this.tickedAt > timing.staleAfterMs / 2;
      this.tickedAt = now;
      if (now - this.renewedAt <= timing.staleAfterMs || this.confirming || this.lost) return;
      if (paused) return this.markLost(this.expiredError());
      this.confirming = true;
      void this.confirmAlive().finally(() => {
        this.confirming = false;
      });
    }, timing.heartbeatMs);
    this.timer.unref();
  }

  private confirming = false;

  /**
   * A running holder whose keepalive stream went quiet (its member died, an election) asks etcd
   * once, through any member: etcd extends leases across a leader change, so the lease may well
   * be alive. Alive: it goes on. Gone, or no answer within half a TTL: the lease is lost.
   */
  private async confirmAlive(): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const bound = Math.max(1_000, this.timing.staleAfterMs / 2);
    try {
      await Promise.race([
        this.handle.keepaliveOnce(),
        new Promise((_, reject) => {
          timer = setTimeout(() => reject(new Error(`no keepalive answered within ${Math.round(bound / 1000)} s`)), bound);
        }),
      ]);
      this.renewedAt = Date.now();
      this.unanswered = undefined;
    } catch (err) {
      if (err instanceof loadLeaseInvalidError()) return this.markLost(this.expiredError());
      this.markLost(this.expiredError(this.unanswered ?? err));
    } finally {
      clearTimeout(timer);
    }
  }

  get epoch(): number {
    return this.owner.epoch;
  }

  get signal(): AbortSignal {
    return this.controller.signal;
  }

  get lost(): boolean {
    return this.controller.signal.aborted;
  }

  /** The compares that make a transaction a write of this holder only. */
  fence(): Compare[] {
    return [
      [this.keys.record, 'Mod', this.recordRevision],
      [this.keys.alive, 'Lease', this.leaseId],
    ];
  }

  assertHeld(): void {
    if (this.lost) throw this.controller.signal.reason;
    // A holder that ran all along leaves a quiet keepalive to confirmAlive (etcd fences the write
    // anyway); one whose own timer did not run was paused, and may not write a thing.
    const now = Date.now();
    if (now - this.renewedAt > this.timing.staleAfterMs && now - this.tickedAt > this.timing.staleAfterMs / 2) {
      this.markLost(this.expiredError());
      throw this.controller.signal.reason;
    }
  }

  /** Ends the lease for this process: keepalives stop and `signal` aborts with `err`. */
  markLost(err: HoistError): void {
    this.stop();
    if (!this.lost) this.controller.abort(err);
  }

  /** Called after a fenced transaction failed: was it the fence? Marks the lease lost if so. */
  async checkFence(current: { record?: LeaseRecord; recordRevision?: string; aliveLease?: string }): Promise<void> {
    if (current.recordRevision !== this.recordRevision) {
      this.markLost(leaseTaken(this.cluster, this.owner, current.record));
    } else if (current.aliveLease !== this.leaseId) {
      this.markLost(this.expiredError());
    }
    if (this.lost) throw this.controller.signal.reason;
  }

  async release(): Promise<void> {
    const wasLost = this.lost;
    this.stop();
    if (!wasLost) {
      try {
        const released = JSON.stringify({ ...this.owner, released: new Date().toISOString() });
        await this.client
          .if(this.keys.record, 'Mod', '==', this.recordRevision)
          .then(this.client.put(this.keys.record).value(released), this.client.delete().key(this.keys.alive))
          .commit();
      } catch {
        // etcd unreachable: the lease expires on its own after the TTL.
      }
    }
    await this.handle.revoke().catch(() => undefined);
    if (!this.lost) {
      this.controller.abort(new StateError('ERR_LOCK_RELEASED', `the lease of cluster "${this.cluster}" was released`));
    }
  }

  private stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    this.handle.release();
  }

  /** The loss as the user should read it: etcd not answering (`unanswered`), or this process paused. */
  private expiredError(unanswered?: unknown): HoistError {
    const err: StateError = leaseExpired(this.cluster, this.owner, Date.now() - this.renewedAt, this.timing);
    if (unanswered === undefined) return err;
    const silent = Math.round((Date.now() - this.renewedAt) / 1000);
    const why = unanswered instanceof Error ? unanswered.message : String(unanswered);
    return this.unavailable(
      `keep the lease of cluster "${this.cluster}" alive`,
      new Error(
        `no answer for ${silent} s, past the lease's ${Math.round(this.timing.staleAfterMs / 1000)} s TTL, so this command stopped (${why})`,
      ),
    );
  }
}
