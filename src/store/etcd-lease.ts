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
 * lost keepalive (etcd says the lease is gone) aborts `signal` at once.
 */
import type { Etcd3, Lease as EtcdLeaseHandle } from 'etcd3';
import { StateError } from '../errors.js';
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
  ) {
    this.renewedAt = Date.now();
    handle.on('keepaliveSucceeded', () => {
      this.renewedAt = Date.now();
    });
    handle.on('lost', () => this.markLost(this.expiredError()));
    // The keepalive stream can stall without an error; the engine must still stop once past the TTL.
    this.timer = setInterval(() => {
      if (Date.now() - this.renewedAt > timing.staleAfterMs) this.markLost(this.expiredError());
    }, timing.heartbeatMs);
    this.timer.unref();
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
    if (Date.now() - this.renewedAt > this.timing.staleAfterMs) {
      this.markLost(this.expiredError());
      throw this.controller.signal.reason;
    }
  }

  /** Ends the lease for this process: keepalives stop and `signal` aborts with `err`. */
  markLost(err: StateError): void {
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

  private expiredError(): StateError {
    return leaseExpired(this.cluster, this.owner, Date.now() - this.renewedAt, this.timing);
  }
}
