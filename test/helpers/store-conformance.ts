/**
 * The Store contract as tests, run against every backend (JSON files, etcd): what a caller of
 * store.ts may rely on whatever the backend. Backend-specific damage (torn lines, corrupt files
 * or keys) stays with each backend's own tests.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Plan } from '../../src/plan/types.js';
import type { ClusterRecord, Lease, Store } from '../../src/store/store.js';
import { operation, plan } from '../unit/store/fixtures.js';
import { caught } from './caught.js';

/** A store that can be closed. */
export type ClosableStore = Store & { close(): Promise<void> };

/** One backend under test. */
export interface StoreBackend {
  name: string;
  /** Fresh, empty storage for the next test. */
  fresh(): Promise<void>;
  /** A store (another process's view when called twice) on the current storage. */
  open(options?: { chunkBytes?: number; txnBytes?: number }): ClosableStore;
  /** Removes the current storage. */
  clear(): Promise<void>;
}

const AT = '2024-05-01T10:00:00.000Z';
const change = (phase: string, state: 'in_progress' | 'completed' = 'completed') => ({ phase, state, at: AT });

/** A plan of `count` servers with one phase each (the shape of a large cluster's plan). */
export function bigPlan(id: string, count: number): Plan {
  const base = plan(id);
  const servers = Array.from({ length: count }, (_, i) => ({
    name: `node-${i}`,
    address: `10.${i >> 16}.${(i >> 8) & 255}.${i & 255}`,
    role: 'worker' as const,
  }));
  return {
    ...base,
    servers: [...base.servers, ...servers],
    phases: [
      ...base.phases,
      ...servers.map((s) => ({
        id: `/nodes/${s.name}`,
        executor: 'health',
        description: `Check ${s.name} at ${s.address}`,
        requires: ['/checks'],
      })),
    ],
  };
}

/** Runs the Store contract against each backend. */
export function storeConformance(backends: StoreBackend[]): void {
  describe.each(backends)('Store contract on $name', (backend) => {
    let store: ClosableStore;
    let lease: Lease;
    const opened: ClosableStore[] = [];
    const open = (options?: { chunkBytes?: number; txnBytes?: number }) => {
      const s = backend.open(options);
      opened.push(s);
      return s;
    };

    beforeEach(async () => {
      await backend.fresh();
      store = open();
      lease = await store.lock('demo', { host: 'test', pid: process.pid, command: 'test' });
    });
    afterEach(async () => {
      await lease.release();
      for (const s of opened.splice(0)) await s.close();
      await backend.clear();
    });

    it('round-trips cluster, operation and plan, with compare-and-set record writes', async () => {
      const cluster: ClusterRecord = { name: 'demo', status: 'active', image: { name: 'demo-app', version: '1.0.0' }, updated: AT };
      expect(await store.getCluster('demo')).toBeUndefined();
      await store.putCluster(cluster, { lease, expect: null });
      expect(await store.getCluster('demo')).toEqual(cluster);
      const conflict = await caught(store.putCluster({ ...cluster, status: 'updating' }, { lease, expect: null }));
      expect(conflict.code).toBe('ERR_STORE_CONFLICT');
      expect(conflict.exitCode).toBe(4);
      expect(await store.getCluster('demo')).toEqual(cluster);

      await store.createOperation(operation('op-1'), plan('op-1'), lease);
      expect(await store.getOperation('demo', 'op-1')).toEqual(operation('op-1'));
      expect(await store.getPlan('demo', 'op-1')).toEqual(plan('op-1'));
      expect(await store.readChanges('demo', 'op-1')).toEqual([]);
      expect(store.logPath('demo', 'op-1')).toMatch(/log\.ndjson$/);

      const done = { ...operation('op-1'), state: 'completed' as const, reason: 'completed', updated: '2024-05-01T11:00:00.000Z' };
      await store.updateOperation(done, { lease, expect: operation('op-1') });
      expect(await store.getOperation('demo', 'op-1')).toEqual(done);
      expect((await caught(store.updateOperation(operation('op-1'), { lease, expect: operation('op-1') }))).code).toBe(
        'ERR_STORE_CONFLICT',
      );
      expect(await store.getOperation('demo', 'op-1')).toEqual(done);
    });

    it('lists operations newest first, by created then id', async () => {
      await store.createOperation(operation('b', '2024-05-01T10:00:00.000Z'), plan('b'), lease);
      await store.createOperation(operation('a', '2024-05-02T10:00:00.000Z'), plan('a'), lease);
      await store.createOperation(operation('c', '2024-05-01T10:00:00.000Z'), plan('c'), lease);
      expect((await store.listOperations('demo')).map((o) => o.id)).toEqual(['a', 'c', 'b']);
      expect(await store.listOperations('other')).toEqual([]);
    });

    it('lists every cluster it holds, each once, by name', async () => {
      // "demo-2" sorts before "demo/…" keys and "demo0" after them: each is found once all the same.
      for (const name of ['demo0', 'demo-2']) {
        const l = await store.lock(name, { host: 'test', pid: process.pid, command: 'test' });
        await store.createOperation({ ...operation(`${name}-op`), cluster: name }, { ...plan(`${name}-op`), cluster: name }, l);
        await l.release();
      }
      await store.createOperation(operation('op-1'), plan('op-1'), lease);
      expect(await open().listClusters()).toEqual(['demo', 'demo-2', 'demo0']);
      expect((await store.listOperations('demo0')).map((o) => o.cluster)).toEqual(['demo0']);
    });

    it('refuses a duplicate operation id and keeps the first plan', async () => {
      await store.createOperation(operation('op-1'), plan('op-1'), lease);
      const err = await caught(store.createOperation(operation('op-1'), { ...plan('op-1'), leader: 'other' }, lease));
      expect(err.code).toBe('ERR_STORE_OPERATION_EXISTS');
      expect(err.exitCode).toBe(4);
      expect(await store.getPlan('demo', 'op-1')).toEqual(plan('op-1'));
    });

    it('writes nothing for an invalid plan or one whose phase data its executor cannot read', async () => {
      const bad = { ...plan('op-1'), phases: [{ id: '/x' }] } as never;
      expect((await caught(store.createOperation(operation('op-1'), bad, lease))).code).toBe('ERR_STORE_INVALID_RECORD');
      const p = plan('op-1');
      const drifted = { ...p, phases: p.phases.map((ph) => (ph.id === '/checks' ? { ...ph, data: { requirement: {} } } : ph)) };
      const err = await caught(store.createOperation(operation('op-1'), drifted, lease));
      expect(err.code).toBe('ERR_STORE_INVALID_RECORD');
      expect(err.phase).toBe('/checks');
      expect(await store.listOperations('demo')).toEqual([]);
    });

    it('rejects names that cannot be stored and unknown operations', async () => {
      const err = await caught(store.getOperation('demo', '../../etc'));
      expect(err.code).toBe('ERR_STORE_BAD_NAME');
      expect(err.exitCode).toBe(3);
      expect((await caught(store.getOperation('demo', 'nope'))).code).toBe('ERR_STORE_OPERATION_NOT_FOUND');
      expect((await caught(store.getPlan('demo', 'nope'))).code).toBe('ERR_STORE_OPERATION_NOT_FOUND');
      expect((await caught(store.appendChange('demo', 'nope', change('/a'), lease))).code).toBe('ERR_STORE_OPERATION_NOT_FOUND');
      expect((await caught(store.readChanges('demo', 'nope'))).code).toBe('ERR_STORE_OPERATION_NOT_FOUND');
    });

    it('stores a 10,000-node plan, and a plan split over many chunks', async () => {
      const huge = bigPlan('op-big', 10_000);
      await store.createOperation(operation('op-big'), huge, lease);
      expect(await open().getPlan('demo', 'op-big')).toEqual(huge);
      // Tiny chunks and transactions: the plan goes in chunks before the record that names them.
      const small = open({ chunkBytes: 1024, txnBytes: 4096 });
      const mid = bigPlan('op-mid', 500);
      await small.createOperation(
        operation('op-mid'),
        mid,
        await small.lock('demo', { host: 'test', pid: process.pid, command: 'x' }, { takeOver: true }),
      );
      expect(await open().getPlan('demo', 'op-mid')).toEqual(mid);
    });

    describe('status history', () => {
      it('keeps the appends of two processes, oldest first, without a lease', async () => {
        const other = open();
        const by = { host: 'h', pid: 1, command: 'status' };
        expect(await store.readHistory('demo')).toEqual([]);
        await store.appendHistory('demo', { type: 'node.degraded', at: '2026-11-29T02:00:01.000Z', node: 'node-2', probe: 'agent', by });
        await other.appendHistory('demo', { type: 'node.healthy', at: '2026-11-29T02:00:02.000Z', node: 'node-2', by });
        await store.appendHistory('demo', { type: 'operation.started', at: '2026-11-29T02:00:03.000Z', operation: 'op-1', by });
        expect((await other.readHistory('demo')).map((e) => e.type)).toEqual(['node.degraded', 'node.healthy', 'operation.started']);
        expect((await store.readHistory('demo'))[0]).toEqual({
          type: 'node.degraded',
          at: '2026-11-29T02:00:01.000Z',
          node: 'node-2',
          probe: 'agent',
          by,
        });
        await other.close();
      });
    });

    describe('changelog', () => {
      beforeEach(async () => {
        await store.createOperation(operation('op-1'), plan('op-1'), lease);
      });

      it('assigns strictly increasing seqs, also to concurrent appends', async () => {
        const first = await store.appendChange('demo', 'op-1', change('/init/node-1', 'in_progress'), lease);
        expect(first.seq).toBe(1);
        const many = await Promise.all(Array.from({ length: 50 }, (_, i) => store.appendChange('demo', 'op-1', change(`/p${i}`), lease)));
        expect(many.map((c) => c.seq)).toEqual(Array.from({ length: 50 }, (_, i) => i + 2));
        const read = await store.readChanges('demo', 'op-1');
        expect(read.map((c) => c.seq)).toEqual(Array.from({ length: 51 }, (_, i) => i + 1));
        expect(read[0]).toEqual({ seq: 1, phase: '/init/node-1', state: 'in_progress', at: AT });
      });

      it('continues the seq written by another store instance (another process)', async () => {
        await store.appendChange('demo', 'op-1', change('/a'), lease);
        const other = open();
        const otherLease = await other.lock('demo', { host: 'test', pid: process.pid, command: 'other' }, { takeOver: true });
        expect((await other.appendChange('demo', 'op-1', change('/b'), otherLease)).seq).toBe(2);
        expect((await other.appendChange('demo', 'op-1', change('/c'), otherLease)).seq).toBe(3);
        await otherLease.release();
        const again = await store.lock('demo', { host: 'test', pid: process.pid, command: 'again' });
        expect((await store.appendChange('demo', 'op-1', change('/d'), again)).seq).toBe(4);
        await again.release();
        expect((await store.readChanges('demo', 'op-1')).map((c) => c.phase)).toEqual(['/a', '/b', '/c', '/d']);
      });

      it('refuses an invalid change without writing it, and keeps error and owner fields', async () => {
        const err = await caught(store.appendChange('demo', 'op-1', { phase: '/a', state: 'done', at: AT } as never, lease));
        expect(err.code).toBe('ERR_STORE_INVALID_CHANGE');
        const c = {
          phase: '/checks',
          state: 'failed' as const,
          at: AT,
          error: { code: 'ERR_X', message: 'boom' },
          owner: { host: 'h', pid: 7 },
        };
        await store.appendChange('demo', 'op-1', c, lease);
        expect(await store.readChanges('demo', 'op-1')).toEqual([{ seq: 1, ...c }]);
      });
    });

    describe('lease', () => {
      it('refuses a second holder naming the first, and gives the next epoch after release', async () => {
        const other = open();
        const held = await caught(other.lock('demo', { host: 'elsewhere', pid: 4242, command: 'hoist upgrade' }));
        expect(held.code).toBe('ERR_LOCK_HELD');
        expect(held.message).toContain(`pid ${process.pid} on host test`);
        expect((await other.readLock('demo'))?.record.epoch).toBe(lease.epoch);
        await lease.release();
        expect(await other.readLock('demo')).toBeUndefined();
        expect((await other.readLease('demo'))?.epoch).toBe(lease.epoch);
        lease = await other.lock('demo', { host: 'elsewhere', pid: 4242, command: 'hoist plan resume' });
        expect(lease.epoch).toBe((await other.readLease('demo'))?.epoch);
        expect(lease.epoch).toBeGreaterThan(1);
      });

      it("names what the holder does: the active operation's phases in progress, or that none runs", async () => {
        const other = open();
        const refusal = async () =>
          (await caught(other.lock('demo', { host: 'elsewhere', pid: 4242, command: 'hoist plan resume' }))).message;
        const holder = `cluster "demo" is locked by "test" (pid ${process.pid} on host test) since ${lease.owner.acquired}`;
        expect(await refusal()).toBe(`${holder}, no operation active`);
        await store.createOperation(operation('op-1'), plan('op-1'), lease);
        const cluster: ClusterRecord = {
          name: 'demo',
          status: 'updating',
          image: { name: 'x', version: '1.0.0' },
          activeOperation: 'op-1',
          updated: AT,
        };
        await store.putCluster(cluster, { lease, expect: null });
        expect(await refusal()).toBe(`${holder}, no phase running in operation op-1`);
        for (const c of [
          change('/init', 'in_progress'),
          change('/init/node-1', 'in_progress'),
          change('/a', 'in_progress'),
          change('/b', 'in_progress'),
          change('/b'),
        ])
          await store.appendChange('demo', 'op-1', c, lease);
        const held = await caught(other.lock('demo', { host: 'elsewhere', pid: 4242, command: 'hoist plan resume' }));
        expect(held.code).toBe('ERR_LOCK_HELD');
        expect(held.exitCode).toBe(4);
        expect(held.message).toBe(`${holder}, running /a, /init/node-1 of operation op-1`);
        expect(held.hint).toMatch(/taken over/);
      });

      it('refuses every write of a lease that was taken over, naming the new owner; nothing is written', async () => {
        await store.createOperation(operation('op-1'), plan('op-1'), lease);
        await store.appendChange('demo', 'op-1', change('/a'), lease);
        const other = open();
        const next = await other.lock('demo', { host: 'host-b', pid: 4242, command: 'hoist plan resume' }, { takeOver: true });
        expect(next.epoch).toBe(lease.epoch + 1);
        expect(next.owner.lastTakeover).toMatchObject({ epoch: lease.epoch, command: 'test' });
        expect((await other.readLease('demo'))?.lastTakeover).toMatchObject({ epoch: lease.epoch, by: { epoch: next.epoch } });

        const err = await caught(store.appendChange('demo', 'op-1', change('/stale'), lease));
        expect(err.code).toBe('ERR_LOCK_LOST');
        expect(err.exitCode).toBe(4);
        expect(err.message).toContain(`taken over by "hoist plan resume" (pid 4242 on host host-b, epoch ${next.epoch})`);
        expect(lease.signal.aborted).toBe(true);
        const cluster: ClusterRecord = { name: 'demo', status: 'updating', image: { name: 'x', version: '1.0.0' }, updated: AT };
        expect((await caught(store.putCluster(cluster, { lease, expect: null }))).code).toBe('ERR_LOCK_LOST');
        expect((await caught(store.updateOperation(operation('op-1'), { lease, expect: operation('op-1') }))).code).toBe('ERR_LOCK_LOST');
        expect((await caught(store.createOperation(operation('op-2'), plan('op-2'), lease))).code).toBe('ERR_LOCK_LOST');

        await other.appendChange('demo', 'op-1', change('/b'), next);
        expect((await other.readChanges('demo', 'op-1')).map((c) => [c.seq, c.phase])).toEqual([
          [1, '/a'],
          [2, '/b'],
        ]);
        expect(await other.getCluster('demo')).toBeUndefined();
        expect((await other.listOperations('demo')).map((o) => o.id)).toEqual(['op-1']);
        await next.release();
      });
    });
  });
}
