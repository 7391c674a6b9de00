/**
 * Taking, reading and checking the cluster lease of the etcd store (keys and fencing rules in
 * etcd-lease.ts). Acquisition is one transaction: it writes the next epoch only if the lease
 * record is still the one read (mod revision), so of two processes taking over the same stale
 * holder exactly one wins; the other reads again and finds a live holder.
 */
import os from 'node:os';
import { StateError } from '../errors.js';
import { type EtcdStoreOptions, storeUnavailable } from './etcd-client.js';
import { EtcdLease, type LeaseKeys } from './etcd-lease.js';
import type { EtcdStore } from './etcd-store.js';
import { type LeaseTiming, lockHeld, pidAlive } from './lock.js';
import { lockRecordSchema } from './schema.js';
import type { Lease, LeaseOwner, LeaseRecord, LeaseRequest, LeaseState, LeaseTakeover } from './store.js';

/** The stored lease as one read sees it. */
interface LeaseRead {
  record?: LeaseRecord;
  recordRevision?: string;
  /** The etcd lease `lease-alive` is attached to; undefined when the key is gone (expired or released). */
  aliveLease?: string;
}

export class EtcdLeaseManager {
  readonly timing: LeaseTiming;
  private readonly ttlSeconds: number;

  constructor(
    private readonly store: EtcdStore,
    options: EtcdStoreOptions,
  ) {
    this.ttlSeconds = Math.max(2, Math.ceil((options.staleAfterMs ?? 30_000) / 1000));
    this.timing = {
      staleAfterMs: this.ttlSeconds * 1000,
      heartbeatMs: Math.min(options.heartbeatMs ?? 5_000, Math.floor((this.ttlSeconds * 1000) / 3)),
      hostname: options.hostname ?? os.hostname(),
    };
  }

  keys(cluster: string): LeaseKeys {
    return { record: this.store.key(cluster, 'lease'), alive: this.store.key(cluster, 'lease-alive') };
  }

  async read(cluster: string): Promise<LeaseRead> {
    const keys = this.keys(cluster);
    const [record, alive] = await Promise.all([
      this.store.readJson(keys.record, lockRecordSchema),
      this.store.client.get(keys.alive).exec(),
    ]);
    const aliveLease = alive.kvs[0]?.lease;
    return {
      ...(record ? { record: record.value, recordRevision: record.revision } : {}),
      ...(aliveLease && aliveLease !== '0' ? { aliveLease: String(aliveLease) } : {}),
    };
  }

  /** Whether the holder is gone: released, its etcd lease expired, or a dead pid on this host. */
  private stale(read: LeaseRead): boolean {
    const r = read.record;
    if (!r || r.released || !read.aliveLease) return true;
    return r.host === this.timing.hostname && !pidAlive(r.pid);
  }

  async readState(cluster: string): Promise<LeaseState | undefined> {
    const read = await this.read(cluster);
    if (!read.record || read.record.released) return undefined;
    return { record: read.record, stale: this.stale(read) };
  }

  async acquire(cluster: string, owner: LeaseOwner, request: LeaseRequest = {}): Promise<EtcdLease> {
    const keys = this.keys(cluster);
    const client = this.store.client;
    for (let attempt = 0; attempt < 3; attempt++) {
      const current = await this.read(cluster);
      const held = current.record && !current.record.released ? current.record : undefined;
      if (held && !this.stale(current) && !request.takeOver) throw lockHeld(cluster, held, this.timing);
      const handle = client.lease(this.ttlSeconds, { autoKeepAlive: true });
      // A lease granted but never attached (refused transaction, etcd gone) must not keep keepalives running.
      let attached = false;
      try {
        const leaseId = await handle.grant();
        const now = Date.now();
        const at = new Date(now).toISOString();
        const epoch = (current.record?.epoch ?? 0) + 1;
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
        const lastTakeover = takeover ?? current.record?.lastTakeover;
        const next: LeaseRecord = {
          ...me,
          epoch,
          acquired: at,
          heartbeat: at,
          expires: new Date(now + this.timing.staleAfterMs).toISOString(),
          ...(lastTakeover ? { lastTakeover } : {}),
        };
        const guard = current.recordRevision
          ? client.if(keys.record, 'Mod', '==', current.recordRevision)
          : client.if(keys.record, 'Version', '==', 0);
        const res = await guard
          .then(client.put(keys.record).value(JSON.stringify(next)), client.put(keys.alive).value(JSON.stringify(me)).lease(leaseId))
          .commit();
        if (!res.succeeded) continue;
        attached = true;
        return new EtcdLease(
          client,
          keys,
          cluster,
          next,
          String(res.header.revision),
          handle,
          String(leaseId),
          this.timing,
          (what, cause) => storeUnavailable(this.store.config, what, cause),
        );
      } finally {
        if (!attached) await handle.revoke().catch(() => undefined);
      }
    }
    throw new StateError('ERR_LOCK_BUSY', `the lease of cluster "${cluster}" kept changing while this command tried to take it`, {
      hint: 'another command is taking the lease at the same time; retry in a moment',
    });
  }

  /** The lease as an EtcdLease of this store and cluster, still held; a foreign lease is a caller's bug. */
  fenceOf(cluster: string, lease: Lease): EtcdLease {
    if (!(lease instanceof EtcdLease) || lease.keys.record !== this.keys(cluster).record || lease.client !== this.store.client) {
      throw new StateError('ERR_LOCK_NOT_HELD', `this write to cluster "${cluster}" does not carry the etcd lease of this store`, {
        hint: 'this is a bug in the caller: take the cluster lease of this store before writing',
      });
    }
    lease.assertHeld();
    return lease;
  }

  /** After a refused fenced transaction: throws ERR_LOCK_LOST (and ends the lease) if the fence was why. */
  async explainRefusal(lease: EtcdLease): Promise<void> {
    await lease.checkFence(await this.read(lease.cluster));
  }
}
