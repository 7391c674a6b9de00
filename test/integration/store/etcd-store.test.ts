/**
 * The Store contract on a real 3-member etcd (loopback 127.0.110.x), and what only etcd can do:
 * a member lost mid-operation, quorum lost and back, a holder whose etcd lease expired.
 */
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { execa } from 'execa';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startStoreEtcdMember, stopStoreEtcdMember, waitStoreEtcdHealthy } from '../../../src/sandbox/store-etcd.js';
import { PAGE, seqName } from '../../../src/store/etcd-changes.js';
import type { EtcdStoreOptions } from '../../../src/store/etcd-client.js';
import { EtcdStore } from '../../../src/store/etcd-store.js';
import type { Lease, LeaseOwner } from '../../../src/store/store.js';
import { caught } from '../../helpers/caught.js';
import { storeConformance } from '../../helpers/store-conformance.js';
import { etcdBackend, leaderIndex, startTestEtcd } from '../../helpers/store-etcd.js';
import { operation, plan } from '../../unit/store/fixtures.js';

let etcd: Awaited<ReturnType<typeof startTestEtcd>>;
beforeAll(async () => {
  etcd = await startTestEtcd('127.0.110', 3);
});
afterAll(async () => {
  await etcd?.stop();
});

storeConformance([
  etcdBackend(
    () => etcd.endpoints,
    () => etcd.dir,
  ),
]);

describe('etcd store faults', () => {
  const AT = '2024-05-01T10:00:00.000Z';
  const change = (phase: string) => ({ phase, state: 'completed' as const, at: AT });
  const opened: EtcdStore[] = [];
  const open = (prefix: string, options: EtcdStoreOptions = {}, endpoints = etcd.endpoints) => {
    const s = new EtcdStore({ endpoints, prefix }, etcd.dir, { staleAfterMs: 2_000, callTimeoutMs: 2_000, ...options });
    opened.push(s);
    return s;
  };
  const prefix = () => `/f-${randomBytes(6).toString('hex')}/`;
  /** Takes the lease without forcing, waiting (bounded) for etcd to expire the holder's. */
  const lockWhenFree = async (store: EtcdStore, owner: LeaseOwner): Promise<Lease> => {
    for (let i = 0; ; i++) {
      try {
        return await store.lock('demo', owner);
      } catch (err) {
        if ((err as { code?: string }).code !== 'ERR_LOCK_HELD' || i > 100) throw err;
        await new Promise((r) => setTimeout(r, 200));
      }
    }
  };
  afterEach(async () => {
    for (const s of opened.splice(0)) await s.close();
    // Every member runs again for the next test.
    for (const m of etcd.members) await startStoreEtcdMember(etcd.dir, etcd.members, m).catch(() => undefined);
    await waitStoreEtcdHealthy(etcd.endpoints, 60_000);
  });

  it('says ERR_STORE_UNAVAILABLE (exit 5) naming the endpoints when no etcd answers, within its bound', async () => {
    const store = open(prefix(), { callTimeoutMs: 1_000 }, ['127.0.110.9:2379', '127.0.110.10:2379']);
    const err = await caught(store.getCluster('demo'));
    expect(err.code).toBe('ERR_STORE_UNAVAILABLE');
    expect(err.exitCode).toBe(5);
    expect(err.message).toContain('http://127.0.110.9:2379, http://127.0.110.10:2379');
    expect(err.hint).toMatch(/quorum/);
    expect((await caught(store.lock('demo', { host: 'h', pid: 1, command: 'x' }))).code).toBe('ERR_STORE_UNAVAILABLE');
  });

  it('loses nothing, and says nothing, when the leader of three members is killed mid-operation', async () => {
    const store = open(prefix(), { staleAfterMs: 5_000 });
    const lease = await store.lock('demo', { host: 'h', pid: process.pid, command: 'hoist upgrade' });
    await store.createOperation(operation('op-1'), plan('op-1'), lease);
    for (let i = 0; i < 10; i++) await store.appendChange('demo', 'op-1', change(`/p${i}`), lease);
    // The leader is the member appends go to (etcd-leader.ts), and its loss means an election.
    await stopStoreEtcdMember(etcd.dir, etcd.members[await leaderIndex(etcd.endpoints)]!, true);
    const appended = [];
    for (let i = 10; i < 20; i++) appended.push((await store.appendChange('demo', 'op-1', change(`/p${i}`), lease)).seq);
    expect(appended).toEqual(Array.from({ length: 10 }, (_, i) => i + 11));
    lease.assertHeld();
    const reader = open(store.prefix);
    const changes = await reader.readChanges('demo', 'op-1');
    expect(changes.map((c) => c.seq)).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
    expect(changes.map((c) => c.phase)).toEqual(Array.from({ length: 20 }, (_, i) => `/p${i}`));
    await lease.release();
  });

  it('reads a changelog of several pages in seq order, continues it, and names the key of a damaged change', async () => {
    const store = open(prefix());
    const lease = await store.lock('demo', { host: 'h', pid: process.pid, command: 'hoist upgrade' });
    await store.createOperation(operation('op-1'), plan('op-1'), lease);
    // More than two pages (5,000 a page), written 100 to a transaction under the keys appends use.
    const total = 2 * PAGE + 1;
    const key = (seq: number) => store.key('demo', 'changes', 'op-1', seqName(seq));
    const value = (seq: number) => JSON.stringify({ seq, phase: `/p${seq % 50}`, state: 'completed', at: AT });
    for (let from = 1; from <= total; from += 100) {
      const puts = Array.from({ length: Math.min(100, total - from + 1) }, (_, i) =>
        store.client.put(key(from + i)).value(value(from + i)),
      );
      await store.client
        .if(key(from), 'Version', '==', 0)
        .then(...puts)
        .commit();
    }
    const reader = open(store.prefix);
    const read = await reader.readChanges('demo', 'op-1');
    expect(read.map((c) => c.seq)).toEqual(Array.from({ length: total }, (_, i) => i + 1));
    expect(read[PAGE]).toEqual(JSON.parse(value(PAGE + 1)));
    // Another process's store continues after the last seq.
    await lease.release();
    const next = open(store.prefix);
    const nextLease = await next.lock('demo', { host: 'h', pid: process.pid, command: 'hoist plan resume' });
    expect((await next.appendChange('demo', 'op-1', change('/a'), nextLease)).seq).toBe(total + 1);
    await nextLease.release();

    await store.client.put(key(PAGE + 7)).value(value(PAGE + 7).slice(0, 20));
    let err = await caught(reader.readChanges('demo', 'op-1'));
    expect(err.code).toBe('ERR_STORE_CORRUPT');
    expect(err.message).toContain(`${key(PAGE + 7)} is not valid JSON`);
    await store.client.put(key(PAGE + 7)).value(value(PAGE + 8));
    err = await caught(reader.readChanges('demo', 'op-1'));
    expect(err.message).toContain(`${key(PAGE + 7)} holds the change of seq ${PAGE + 8}, which belongs under another key`);
    await store.client.put(key(PAGE + 7)).value(JSON.stringify({ seq: PAGE + 7, phase: '/nowhere', state: 'completed', at: AT }));
    err = await caught(reader.readChanges('demo', 'op-1'));
    expect(err.message).toContain(`${key(PAGE + 7)} names phase "/nowhere", which is not in the operation's plan`);
    await store.client.put(key(PAGE + 7)).value(JSON.stringify({ seq: PAGE + 7, phase: '/a', state: 'finished', at: AT }));
    err = await caught(reader.readChanges('demo', 'op-1'));
    expect(err.message).toContain(`${key(PAGE + 7)} does not hold a valid record`);
    expect(err.details.join('\n')).toContain('state');
  }, 120_000);

  it('fails with ERR_STORE_UNAVAILABLE without quorum, and the operation goes on once quorum returns', async () => {
    const p = prefix();
    const store = open(p);
    const lease = await store.lock('demo', { host: 'h', pid: process.pid, command: 'hoist upgrade' });
    await store.createOperation(operation('op-1'), plan('op-1'), lease);
    await store.appendChange('demo', 'op-1', change('/a'), lease);
    await stopStoreEtcdMember(etcd.dir, etcd.members[0]!, true);
    await stopStoreEtcdMember(etcd.dir, etcd.members[1]!, true);
    const err = await caught(store.appendChange('demo', 'op-1', change('/b'), lease));
    expect(err.code).toBe('ERR_STORE_UNAVAILABLE');
    expect(err.exitCode).toBe(5);
    expect(err.message).toContain(etcd.endpoints.map((e) => `http://${e}`).join(', '));
    const reader = open(p);
    expect((await caught(reader.readChanges('demo', 'op-1'))).code).toBe('ERR_STORE_UNAVAILABLE');
    // The holder ran all along: its lease ends naming the store that stopped answering, not a pause.
    if (!lease.signal.aborted) await new Promise((r) => lease.signal.addEventListener('abort', r, { once: true }));
    expect(lease.signal.reason).toMatchObject({ code: 'ERR_STORE_UNAVAILABLE', exitCode: 5 });
    expect((lease.signal.reason as Error).message).toMatch(
      /did not answer \(keep the lease of cluster "demo" alive\): no answer for \d+ s/,
    );
    // The failed command ends: its release cannot reach etcd either, so the lease runs out on its own.
    await lease.release();

    for (const m of etcd.members.slice(0, 2)) await startStoreEtcdMember(etcd.dir, etcd.members, m);
    await waitStoreEtcdHealthy(etcd.endpoints, 60_000);
    // The next command (a resume on another host) takes the lease once etcd expired it, and goes on.
    const resumer = open(p);
    const next = await lockWhenFree(resumer, { host: 'h2', pid: 4242, command: 'hoist plan resume' });
    expect(next.epoch).toBe(lease.epoch + 1);
    // The write that timed out has an unknown outcome: it may have been committed once quorum
    // returned (it was fenced by a lease that was valid then). Either way the log stays whole.
    const appended = await resumer.appendChange('demo', 'op-1', change('/b'), next);
    const phases = (await resumer.readChanges('demo', 'op-1')).map((c) => c.phase);
    expect([
      ['/a', '/b'],
      ['/a', '/b', '/b'],
    ]).toContainEqual(phases);
    expect(appended.seq).toBe(phases.length);
    await next.release();
  });

  it("wakes a follower through a watch when another process appends, and when the writer's lease goes", async () => {
    const p = prefix();
    const writer = open(p);
    const lease = await writer.lock('demo', { host: 'h', pid: process.pid, command: 'hoist upgrade' });
    await writer.createOperation(operation('op-1'), plan('op-1'), lease);
    const follower = open(p);
    const never = new AbortController().signal;
    // A bound far above the test's own: the wait can only end early through the watch.
    const waiting = follower.waitForChange('demo', 'op-1', 0, 600_000, never);
    await new Promise((r) => setTimeout(r, 300));
    await writer.appendChange('demo', 'op-1', change('/a'), lease);
    await waiting;
    // Already past afterSeq when the watch starts: no event needed.
    await follower.waitForChange('demo', 'op-1', 0, 600_000, never);
    const gone = follower.waitForChange('demo', 'op-1', 1, 600_000, never);
    await new Promise((r) => setTimeout(r, 300));
    await lease.release();
    await gone;
    expect((await follower.readChanges('demo', 'op-1')).map((c) => c.seq)).toEqual([1]);
  }, 60_000);

  it('refuses the write of a holder whose etcd lease expired while it was paused', async () => {
    const p = prefix();
    const child = execa('node', [path.join(import.meta.dirname, 'etcd-paused-holder.mjs'), etcd.endpoints.join(','), p, etcd.dir], {
      env: { TEST_OPERATION: JSON.stringify(operation('op-1')), TEST_PLAN: JSON.stringify(plan('op-1')) },
      stdin: 'pipe',
      reject: false,
    });
    const lines = createInterface({ input: child.stdout! })[Symbol.asyncIterator]();
    try {
      expect(JSON.parse((await lines.next()).value as string)).toMatchObject({ ready: true });
      child.kill('SIGSTOP');
      const other = open(p);
      // Not forced: etcd expires the paused holder's lease after its TTL, and the lease is free.
      const next = await lockWhenFree(other, { host: 'host-b', pid: 4242, command: 'hoist plan resume' });
      expect(next.owner.lastTakeover).toMatchObject({ command: 'hoist upgrade', by: { command: 'hoist plan resume' } });
      child.kill('SIGCONT');
      child.stdin!.write('append\n');
      const outcome = JSON.parse((await lines.next()).value as string);
      expect(outcome).toMatchObject({ code: 'ERR_LOCK_LOST', aborted: true });
      expect((await other.readChanges('demo', 'op-1')).map((c) => c.phase)).toEqual(['/a']);
      await next.release();
    } finally {
      child.kill('SIGKILL');
      await child;
    }
  });
});
