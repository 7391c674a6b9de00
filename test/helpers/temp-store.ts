/**
 * A JsonStore in a fresh temp dir, for tests whose subject is what lands in the store: they then
 * exercise the real files (atomic record writes, the fsynced changelog, the lease file) that a
 * crash would leave behind. Behaviour note: `testLease` returns the lease this store already
 * holds for a cluster, taking it on first use, like MemoryStore's; `dispose` releases every lease
 * and removes the directory.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { JsonStore } from '../../src/store/json-store.js';
import type { Lease } from '../../src/store/store.js';

export class TempStore extends JsonStore {
  private readonly leases = new Map<string, Lease>();

  static async create(): Promise<TempStore> {
    return new TempStore(await mkdtemp(join(tmpdir(), 'hoist-store-')));
  }

  async testLease(cluster: string): Promise<Lease> {
    const held = this.leases.get(cluster);
    if (held && !held.signal.aborted && (await this.readLock(cluster))?.record.epoch === held.epoch) return held;
    const lease = await this.lock(cluster, { host: 'h', pid: process.pid, command: 'test' });
    this.leases.set(cluster, lease);
    return lease;
  }

  async dispose(): Promise<void> {
    for (const lease of this.leases.values()) await lease.release().catch(() => undefined);
    await this.close();
    await rm(this.stateDir, { recursive: true, force: true });
  }
}
