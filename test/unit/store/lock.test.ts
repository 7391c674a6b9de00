import { spawnSync } from 'node:child_process';
import { mkdir, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { JsonStore } from '../../../src/store/json-store.js';
import type { FileLease } from '../../../src/store/lock.js';
import type { LeaseRecord } from '../../../src/store/store.js';
import { caught } from '../../helpers/caught.js';
import { cleanup, tempDir } from './fixtures.js';

const HOST = 'host-a';

/** A pid that certainly belonged to a process and is now gone. */
function deadPid(): number {
  const child = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
  return Number(child.stdout);
}

describe('cluster lock', () => {
  let dir: string;
  let store: JsonStore;
  const owner = (command = 'hoist plan execute') => ({ host: HOST, pid: process.pid, command });

  async function plant(record: Partial<LeaseRecord>): Promise<void> {
    const now = new Date().toISOString();
    const heartbeat = record.heartbeat ?? now;
    const expires = new Date(Date.parse(heartbeat) + 30_000).toISOString();
    const full: LeaseRecord = {
      host: HOST,
      pid: process.pid,
      command: 'hoist upgrade',
      epoch: 1,
      acquired: now,
      heartbeat,
      expires,
      ...record,
    };
    await mkdir(path.join(dir, 'clusters/demo'), { recursive: true });
    await writeFile(store.lockPath('demo'), JSON.stringify(full));
  }

  beforeEach(async () => {
    dir = await tempDir();
    store = new JsonStore(dir, { hostname: HOST });
  });
  afterEach(async () => {
    await cleanup(dir);
  });

  it('writes the owner record and marks it released, keeping the epoch', async () => {
    const lock = await store.lock('demo', owner());
    expect(lock.owner).toMatchObject(owner());
    expect(lock.epoch).toBe(1);
    const read = await store.readLock('demo');
    expect(read).toEqual({ record: lock.owner, stale: false });
    await lock.release();
    expect(await store.readLock('demo')).toBeUndefined();
    expect(await store.readLease('demo')).toMatchObject({ epoch: 1, released: expect.any(String) });
    await lock.release(); // idempotent
    const next = await new JsonStore(dir, { hostname: HOST }).lock('demo', owner());
    expect(next.epoch).toBe(2);
    await next.release();
  });

  it('queues this process behind its own guard instead of failing with ERR_LOCK_BUSY after the guard wait (5 s)', async () => {
    const lock = (await store.lock('demo', owner())) as FileLease;
    // One fenced write holds the guard past the wait a caller gives another process's guard.
    const slow = lock.fenced(() => new Promise<string>((r) => setTimeout(() => r('slow done'), 5_500)));
    const beat = lock.heartbeat();
    expect(await slow).toBe('slow done');
    expect(await beat).toBe(true);
    await lock.release();
  });

  it('refuses a second writer and names the holder', async () => {
    const lock = await store.lock('demo', owner('hoist plan execute'));
    const err = await caught(store.lock('demo', owner('hoist plan rollback')));
    expect(err.code).toBe('ERR_LOCK_HELD');
    expect(err.exitCode).toBe(4);
    expect(err.message).toBe(
      `cluster "demo" is locked by "hoist plan execute" (pid ${process.pid} on host ${HOST}) since ${lock.owner.acquired}, no operation active`,
    );
    expect(err.hint).toMatch(/wait/);
    expect(err.hint).toMatch(/taken over/);
    await lock.release();
    const again = await store.lock('demo', owner('hoist plan rollback'));
    await again.release();
  });

  it('takes over the lock of a dead pid on this host', async () => {
    const pid = deadPid();
    await plant({ pid });
    expect((await store.readLock('demo'))?.stale).toBe(true);
    const lock = await store.lock('demo', owner());
    expect(lock.owner.pid).toBe(process.pid);
    expect((await store.readLock('demo'))?.record.pid).toBe(process.pid);
    await lock.release();
  });

  it('does not judge a pid on another host by local process table', async () => {
    await plant({ host: 'host-b', pid: deadPid() });
    expect((await store.readLock('demo'))?.stale).toBe(false);
    expect((await caught(store.lock('demo', owner()))).code).toBe('ERR_LOCK_HELD');
  });

  it('takes over a lease past its expiry with the next epoch and records the takeover', async () => {
    const old = new Date(Date.now() - 60_000).toISOString();
    await plant({ host: 'host-b', pid: 123, epoch: 7, acquired: old, heartbeat: old });
    expect((await store.readLock('demo'))?.stale).toBe(true);
    const lock = await store.lock('demo', owner());
    expect(lock.epoch).toBe(8);
    expect((await store.readLock('demo'))?.record).toEqual(lock.owner);
    expect(lock.owner.lastTakeover).toMatchObject({
      host: 'host-b',
      pid: 123,
      epoch: 7,
      heartbeat: old,
      by: { pid: process.pid, epoch: 8 },
    });
    await lock.release();
    // The last takeover stays visible to later holders.
    const later = await store.lock('demo', owner());
    expect(later.owner.lastTakeover?.pid).toBe(123);
    await later.release();
  });

  it('takes over a live-looking holder only when asked to (resume --force)', async () => {
    await plant({ host: 'host-b', pid: 77, epoch: 3 });
    expect((await caught(store.lock('demo', owner()))).code).toBe('ERR_LOCK_HELD');
    const lock = await store.lock('demo', owner(), { takeOver: true });
    expect(lock.epoch).toBe(4);
    expect(lock.owner.lastTakeover).toMatchObject({ host: 'host-b', pid: 77, epoch: 3 });
    await lock.release();
  });

  it('refreshes its heartbeat on a timer', async () => {
    const fast = new JsonStore(dir, { hostname: HOST, heartbeatMs: 20 });
    const lock = await fast.lock('demo', owner());
    const first = lock.owner.heartbeat;
    await expect.poll(async () => (await fast.readLock('demo'))?.record.heartbeat, { timeout: 5_000 }).not.toBe(first);
    const read = await fast.readLock('demo');
    expect(read?.record.acquired).toBe(lock.owner.acquired);
    await lock.release();
  });

  it('notices a takeover and then leaves the new holder alone', async () => {
    const lock = (await store.lock('demo', owner())) as FileLease;
    const old = new Date(Date.now() - 60_000).toISOString();
    await plant({ host: 'host-b', pid: 77, command: 'other', epoch: 2, acquired: old, heartbeat: new Date().toISOString() });
    expect(await lock.heartbeat()).toBe(false);
    expect(lock.lost).toBe(true);
    expect(lock.signal.aborted).toBe(true);
    expect(lock.signal.reason).toMatchObject({ code: 'ERR_LOCK_LOST', exitCode: 4 });
    expect((lock.signal.reason as Error).message).toContain('taken over by "other" (pid 77 on host host-b, epoch 2)');
    await lock.release();
    expect((await store.readLock('demo'))?.record.command).toBe('other');
  });

  it('reports a corrupt lock file by name', async () => {
    await mkdir(path.join(dir, 'clusters/demo'), { recursive: true });
    await writeFile(store.lockPath('demo'), '{"host":');
    const err = await caught(store.lock('demo', owner()));
    expect(err.code).toBe('ERR_STORE_CORRUPT');
    expect(err.message).toContain(store.lockPath('demo'));
  });

  it('clears an empty guard, as a kill -9 between creating and writing it left one', async () => {
    await plant({ pid: deadPid() });
    await writeFile(`${store.lockPath('demo')}.guard`, '');
    const lock = await store.lock('demo', owner());
    await lock.release();
    await expect(stat(`${store.lockPath('demo')}.guard`)).rejects.toThrow();
  });

  it('clears a guard left by a dead process', async () => {
    await plant({ pid: deadPid() });
    await writeFile(`${store.lockPath('demo')}.guard`, JSON.stringify({ host: HOST, pid: deadPid() }));
    const lock = await store.lock('demo', owner());
    await lock.release();
    await expect(stat(`${store.lockPath('demo')}.guard`)).rejects.toThrow();
    expect(await store.readLock('demo')).toBeUndefined();
  });
});
