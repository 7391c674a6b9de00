/**
 * Fencing rules of the JSON store: two store instances on one state directory stand for two
 * processes; a lease that was taken over, or whose holder slept past its expiry, writes nothing.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { JsonStore } from '../../../src/store/json-store.js';
import type { ClusterRecord, Lease } from '../../../src/store/store.js';
import { caught } from '../../helpers/caught.js';
import { cleanup, operation, plan, tempDir } from './fixtures.js';

const HOST = 'host-a';
const TTL = 1_500;
const AT = '2024-05-01T10:00:00.000Z';
const change = (phase: string) => ({ phase, state: 'completed' as const, at: AT });

describe('fenced writes', () => {
  let dir: string;
  let first: JsonStore;
  let second: JsonStore;
  let held: Lease[];
  const lock = async (store: JsonStore, command: string, pid = process.pid) => {
    const lease = await store.lock('demo', { host: HOST, pid, command });
    held.push(lease);
    return lease;
  };
  const changelog = () => path.join(dir, 'clusters/demo/operations/op-1/changelog.ndjson');

  beforeEach(async () => {
    dir = await tempDir();
    held = [];
    // A heartbeat far beyond the TTL: the first lease only renews when a test says so.
    first = new JsonStore(dir, { hostname: HOST, staleAfterMs: TTL, heartbeatMs: 60_000 });
    second = new JsonStore(dir, { hostname: HOST, staleAfterMs: TTL, heartbeatMs: 60_000 });
  });
  afterEach(async () => {
    for (const lease of held) await lease.release();
    await first.close();
    await second.close();
    await cleanup(dir);
  });

  it('refuses every write of a lease that was taken over, naming the new owner, and keeps the changelog strictly increasing', async () => {
    const old = await lock(first, 'hoist upgrade');
    await first.createOperation(operation('op-1'), plan('op-1'), old);
    await first.appendChange('demo', 'op-1', change('/a'), old);
    // The holder stops renewing (SIGSTOP); past its expiry a second process takes over.
    await new Promise((r) => setTimeout(r, TTL + 300));
    const next = await lock(second, 'hoist plan resume', process.pid);
    expect(next.epoch).toBe(old.epoch + 1);
    expect(next.owner.lastTakeover).toMatchObject({ epoch: old.epoch, command: 'hoist upgrade' });
    await second.appendChange('demo', 'op-1', change('/b'), next);

    const err = await caught(first.appendChange('demo', 'op-1', change('/stale'), old));
    expect(err.code).toBe('ERR_LOCK_LOST');
    expect(err.exitCode).toBe(4);
    expect(err.message).toContain(`taken over by "hoist plan resume" (pid ${process.pid} on host ${HOST}, epoch ${next.epoch})`);
    expect(old.signal.aborted).toBe(true);
    const cluster: ClusterRecord = { name: 'demo', status: 'updating', image: { name: 'x', version: '1.0.0' }, updated: AT };
    expect((await caught(first.putCluster(cluster, { lease: old, expect: null }))).code).toBe('ERR_LOCK_LOST');
    expect((await caught(first.updateOperation(operation('op-1'), { lease: old, expect: operation('op-1') }))).code).toBe('ERR_LOCK_LOST');
    expect((await caught(first.createOperation(operation('op-2'), plan('op-2'), old))).code).toBe('ERR_LOCK_LOST');

    await second.appendChange('demo', 'op-1', change('/c'), next);
    const lines = (await readFile(changelog(), 'utf8')).trim().split('\n');
    expect(lines.map((l) => (JSON.parse(l) as { seq: number; phase: string }).phase)).toEqual(['/a', '/b', '/c']);
    expect((await second.readChanges('demo', 'op-1')).map((c) => c.seq)).toEqual([1, 2, 3]);
    expect(await first.getCluster('demo')).toBeUndefined();
  });

  it('refuses the write of a holder that slept past its expiry even before anyone took over', async () => {
    const lease = await lock(first, 'hoist upgrade');
    await first.createOperation(operation('op-1'), plan('op-1'), lease);
    await new Promise((r) => setTimeout(r, TTL + 300));
    const err = await caught(first.appendChange('demo', 'op-1', change('/late'), lease));
    expect(err.code).toBe('ERR_LOCK_LOST');
    expect(err.message).toMatch(/no heartbeat for [\d.]+ s, past its [\d.]+ s expiry/);
    expect(() => lease.assertHeld()).toThrow(/lost the lease/);
    expect(await first.readChanges('demo', 'op-1')).toEqual([]);
  });

  it('keeps a renewed lease writing past its first expiry', async () => {
    const lease = await lock(first, 'hoist upgrade');
    await first.createOperation(operation('op-1'), plan('op-1'), lease);
    for (let i = 0; i < 3; i++) {
      await new Promise((r) => setTimeout(r, TTL / 3));
      expect(await (lease as unknown as { heartbeat(): Promise<boolean> }).heartbeat()).toBe(true);
    }
    expect((await first.appendChange('demo', 'op-1', change('/a'), lease)).seq).toBe(1);
    expect(lease.signal.aborted).toBe(false);
  });

  it('refuses a write fenced with the lease of another state directory', async () => {
    const otherDir = await tempDir();
    const other = new JsonStore(otherDir, { hostname: HOST });
    const foreign = await other.lock('demo', { host: HOST, pid: process.pid, command: 'elsewhere' });
    const err = await caught(first.createOperation(operation('op-1'), plan('op-1'), foreign));
    expect(err.code).toBe('ERR_LOCK_NOT_HELD');
    await foreign.release();
    await cleanup(otherDir);
  });

  it('compare-and-set: a record read before another writer changed it is not written back', async () => {
    const lease = await lock(first, 'hoist rollback');
    const base: ClusterRecord = {
      name: 'demo',
      status: 'updating',
      image: { name: 'x', version: '1.0.0' },
      activeOperation: 'op-1',
      updated: AT,
    };
    await first.putCluster(base, { lease, expect: null });
    const readEarlier = await first.getCluster('demo');
    const completed: ClusterRecord = {
      name: 'demo',
      status: 'active',
      image: { name: 'x', version: '2.0.0' },
      lastOperation: 'op-1',
      updated: AT,
    };
    await first.putCluster(completed, { lease, expect: readEarlier ?? null });
    const err = await caught(first.putCluster({ ...base, updated: '2024-05-02T00:00:00.000Z' }, { lease, expect: readEarlier ?? null }));
    expect(err.code).toBe('ERR_STORE_CONFLICT');
    expect(err.exitCode).toBe(4);
    expect(await first.getCluster('demo')).toEqual(completed);
    // A creation that expected no record finds one.
    expect((await caught(first.putCluster(base, { lease, expect: null }))).code).toBe('ERR_STORE_CONFLICT');

    await first.createOperation(operation('op-1'), plan('op-1'), lease);
    const done = { ...operation('op-1'), state: 'completed' as const };
    await first.updateOperation(done, { lease, expect: operation('op-1') });
    const stale = await caught(first.updateOperation({ ...operation('op-1'), state: 'failed' }, { lease, expect: operation('op-1') }));
    expect(stale.code).toBe('ERR_STORE_CONFLICT');
    expect((await first.getOperation('demo', 'op-1')).state).toBe('completed');
  });
});
