import { appendFile, mkdir, readdir, readFile, truncate, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { JsonStore } from '../../../src/store/json-store.js';
import type { ClusterRecord, Lease } from '../../../src/store/store.js';
import { caught } from '../../helpers/caught.js';
import { cleanup, operation, plan, tempDir } from './fixtures.js';

const AT = '2024-05-01T10:00:00.000Z';

describe('JsonStore', () => {
  let dir: string;
  let store: JsonStore;
  let lease: Lease;
  const opDir = (id: string) => path.join(dir, 'clusters/demo/operations', id);

  beforeEach(async () => {
    dir = await tempDir();
    store = new JsonStore(dir);
    lease = await store.lock('demo', { host: 'test', pid: process.pid, command: 'test' });
  });
  afterEach(async () => {
    await lease.release();
    await store.close();
    await cleanup(dir);
  });

  describe('records', () => {
    it('round-trips cluster, operation and plan', async () => {
      const cluster: ClusterRecord = { name: 'demo', status: 'active', image: { name: 'demo-app', version: '1.0.0' }, updated: AT };
      expect(await store.getCluster('demo')).toBeUndefined();
      await store.putCluster(cluster, { lease, expect: null });
      expect(await store.getCluster('demo')).toEqual(cluster);

      await store.createOperation(operation('op-1'), plan('op-1'), lease);
      expect(await store.getOperation('demo', 'op-1')).toEqual(operation('op-1'));
      expect(await store.getPlan('demo', 'op-1')).toEqual(plan('op-1'));
      expect(await store.readChanges('demo', 'op-1')).toEqual([]);
      expect(store.logPath('demo', 'op-1')).toBe(path.join(opDir('op-1'), 'log.ndjson'));

      const done = { ...operation('op-1'), state: 'completed' as const, reason: 'completed', updated: '2024-05-01T11:00:00.000Z' };
      await store.updateOperation(done, { lease, expect: operation('op-1') });
      expect(await store.getOperation('demo', 'op-1')).toEqual(done);
      expect((await readdir(opDir('op-1'))).sort()).toEqual(['changelog.ndjson', 'operation.json', 'plan.json']);
    });

    it('refuses a duplicate operation id', async () => {
      await store.createOperation(operation('op-1'), plan('op-1'), lease);
      const err = await caught(store.createOperation(operation('op-1'), plan('op-1'), lease));
      expect(err.code).toBe('ERR_STORE_OPERATION_EXISTS');
      expect(err.exitCode).toBe(4);
      expect(await store.getPlan('demo', 'op-1')).toEqual(plan('op-1'));
    });

    it('hides a half-created operation left by a crash and lets the id be created', async () => {
      // What a crash between mkdir and rename leaves: a dot-dir with only some files.
      const leftover = path.join(dir, 'clusters/demo/operations', '.new-op-1-999999-abcd');
      await mkdir(leftover, { recursive: true });
      await writeFile(path.join(leftover, 'operation.json'), JSON.stringify(operation('op-1')));
      expect(await store.listOperations('demo')).toEqual([]);
      expect((await caught(store.getOperation('demo', 'op-1'))).code).toBe('ERR_STORE_OPERATION_NOT_FOUND');

      await store.createOperation(operation('op-1'), plan('op-1'), lease);
      expect((await store.listOperations('demo')).map((o) => o.id)).toEqual(['op-1']);
      expect(await store.getPlan('demo', 'op-1')).toEqual(plan('op-1'));
    });

    it('writes nothing when the plan is invalid', async () => {
      const bad = { ...plan('op-1'), phases: [{ id: '/x' }] } as never;
      expect((await caught(store.createOperation(operation('op-1'), bad, lease))).code).toBe('ERR_STORE_INVALID_RECORD');
      expect(await store.listOperations('demo')).toEqual([]);
    });

    it('names the file when operation.json is corrupt', async () => {
      await store.createOperation(operation('op-1'), plan('op-1'), lease);
      const file = path.join(opDir('op-1'), 'operation.json');
      await writeFile(file, '{"id": "op-1",');
      const err = await caught(store.getOperation('demo', 'op-1'));
      expect(err.code).toBe('ERR_STORE_CORRUPT');
      expect(err.message).toContain(file);
      expect(err.hint).toMatch(/backup/);
      expect((await caught(store.listOperations('demo'))).message).toContain(file);
    });

    it('names the file and field when a record breaks its schema', async () => {
      await store.createOperation(operation('op-1'), plan('op-1'), lease);
      const file = path.join(opDir('op-1'), 'plan.json');
      await writeFile(file, JSON.stringify({ ...plan('op-1'), servers: 'node-1' }));
      const err = await caught(store.getPlan('demo', 'op-1'));
      expect(err.code).toBe('ERR_STORE_CORRUPT');
      expect(err.message).toContain(file);
      expect(err.details.join('\n')).toContain('servers');
    });

    it('refuses a plan whose phase data drifted from its executor, naming the file and phase', async () => {
      await store.createOperation(operation('op-1'), plan('op-1'), lease);
      const file = path.join(opDir('op-1'), 'plan.json');
      // What a renamed key looks like: the executor would read `leader` as absent.
      await writeFile(file, (await readFile(file, 'utf8')).replace('"leader": true', '"isLeader": true'));
      const err = await caught(store.getPlan('demo', 'op-1'));
      expect(err.code).toBe('ERR_STORE_PLAN_DATA');
      expect(err.exitCode).toBe(4);
      expect(err.phase).toBe('/init/node-1');
      expect(err.message).toContain(file);
      expect(err.message).toContain('phase /init/node-1');
      expect(err.message).toContain('data.leader');
      expect(err.message).toContain('isLeader');
    });

    it('refuses to write a plan whose phase data its executor cannot read', async () => {
      const p = plan('op-1');
      const drifted = { ...p, phases: p.phases.map((ph) => (ph.id === '/checks' ? { ...ph, data: { requirement: {} } } : ph)) };
      const err = await caught(store.createOperation(operation('op-1'), drifted, lease));
      expect(err.code).toBe('ERR_STORE_INVALID_RECORD');
      expect(err.phase).toBe('/checks');
      expect(await store.listOperations('demo')).toEqual([]);
    });

    it('names a missing plan.json', async () => {
      await store.createOperation(operation('op-1'), plan('op-1'), lease);
      const file = path.join(opDir('op-1'), 'plan.json');
      await import('node:fs/promises').then((fs) => fs.rm(file));
      const err = await caught(store.getPlan('demo', 'op-1'));
      expect(err.code).toBe('ERR_STORE_CORRUPT');
      expect(err.message).toContain(file);
    });

    it('names a corrupt cluster.json', async () => {
      const file = path.join(dir, 'clusters/demo/cluster.json');
      await mkdir(path.dirname(file), { recursive: true });
      await writeFile(file, '{"name":"demo","status":"broken"}');
      const err = await caught(store.getCluster('demo'));
      expect(err.code).toBe('ERR_STORE_CORRUPT');
      expect(err.message).toContain(file);
    });

    it('rejects names that would escape the state directory', async () => {
      const err = await caught(store.getOperation('demo', '../../etc'));
      expect(err.code).toBe('ERR_STORE_BAD_NAME');
      expect(err.exitCode).toBe(3);
    });
  });

  describe('changelog', () => {
    const change = (phase: string, state: 'in_progress' | 'completed' = 'completed') => ({ phase, state, at: AT });
    const changelog = (id: string) => path.join(opDir(id), 'changelog.ndjson');

    beforeEach(async () => {
      await store.createOperation(operation('op-1'), plan('op-1'), lease);
    });

    it('continues the seq written by another store instance (another process)', async () => {
      await store.appendChange('demo', 'op-1', change('/a'), lease);
      const other = new JsonStore(dir);
      expect((await other.appendChange('demo', 'op-1', change('/b'), lease)).seq).toBe(2);
      expect((await other.appendChange('demo', 'op-1', change('/c'), lease)).seq).toBe(3);
      await other.close();
      // `store` has its file open with a cached tail; it must notice the growth.
      expect((await store.appendChange('demo', 'op-1', change('/d'), lease)).seq).toBe(4);
      expect((await store.readChanges('demo', 'op-1')).map((c) => c.phase)).toEqual(['/a', '/b', '/c', '/d']);
    });

    it('ignores a torn last line and appends cleanly after it', async () => {
      await store.appendChange('demo', 'op-1', change('/a'), lease);
      await store.appendChange('demo', 'op-1', change('/b'), lease);
      await appendFile(changelog('op-1'), '{"seq":3,"phase":"/c","sta');
      expect((await store.readChanges('demo', 'op-1')).map((c) => c.seq)).toEqual([1, 2]);

      const fresh = new JsonStore(dir);
      expect((await fresh.appendChange('demo', 'op-1', change('/c'), lease)).seq).toBe(3);
      await fresh.close();
      const text = await readFile(changelog('op-1'), 'utf8');
      expect(text.endsWith('\n')).toBe(true);
      expect(
        text
          .split('\n')
          .filter(Boolean)
          .map((l) => JSON.parse(l).seq),
      ).toEqual([1, 2, 3]);
    });

    it('drops a torn tail seen by a writer that had the file open', async () => {
      await store.appendChange('demo', 'op-1', change('/a'), lease);
      await appendFile(changelog('op-1'), '\0\0\0\0');
      expect((await store.appendChange('demo', 'op-1', change('/b'), lease)).seq).toBe(2);
      expect((await store.readChanges('demo', 'op-1')).map((c) => c.phase)).toEqual(['/a', '/b']);
    });

    it('treats an unparsable newline-terminated last line as torn', async () => {
      await store.appendChange('demo', 'op-1', change('/a'), lease);
      await appendFile(changelog('op-1'), '{"seq":2,\n');
      expect((await store.readChanges('demo', 'op-1')).map((c) => c.seq)).toEqual([1]);
      expect((await store.appendChange('demo', 'op-1', change('/b'), lease)).seq).toBe(2);
      expect((await store.readChanges('demo', 'op-1')).map((c) => c.seq)).toEqual([1, 2]);
    });

    it('reports a corrupt middle line with file and line number', async () => {
      await store.appendChange('demo', 'op-1', change('/a'), lease);
      await appendFile(changelog('op-1'), 'garbage\n');
      await appendFile(changelog('op-1'), `${JSON.stringify({ seq: 9, ...change('/c') })}\n`);
      const err = await caught(store.readChanges('demo', 'op-1'));
      expect(err.code).toBe('ERR_STORE_CORRUPT');
      expect(err.message).toContain(changelog('op-1'));
      expect(err.message).toContain('line 2');
      expect(err.hint).toMatch(/backup|inspect/);
    });

    it('refuses to append after a corrupt middle line', async () => {
      await store.appendChange('demo', 'op-1', change('/a'), lease);
      await appendFile(changelog('op-1'), `${JSON.stringify({ seq: 2, phase: '/b', state: 'bogus', at: AT })}\n`);
      await appendFile(changelog('op-1'), `${JSON.stringify({ seq: 3, ...change('/c') })}\n`);
      const err = await caught(store.appendChange('demo', 'op-1', change('/d'), lease));
      expect(err.code).toBe('ERR_STORE_CORRUPT');
      expect(err.message).toContain('line 2');
    });

    it('reports a seq that does not increase', async () => {
      await store.appendChange('demo', 'op-1', change('/a'), lease);
      await store.appendChange('demo', 'op-1', change('/b'), lease);
      await appendFile(changelog('op-1'), `${JSON.stringify({ seq: 2, ...change('/c') })}\n`);
      await appendFile(changelog('op-1'), `${JSON.stringify({ seq: 4, ...change('/d') })}\n`);
      const err = await caught(store.readChanges('demo', 'op-1'));
      expect(err.message).toContain('line 3');
    });

    it('rebuilds its cache when the file shrinks', async () => {
      await store.appendChange('demo', 'op-1', change('/a'), lease);
      await store.appendChange('demo', 'op-1', change('/b'), lease);
      await truncate(changelog('op-1'), 0);
      expect((await store.appendChange('demo', 'op-1', change('/c'), lease)).seq).toBe(1);
    });

    it('refuses appends to an unknown operation', async () => {
      expect((await caught(store.appendChange('demo', 'nope', change('/a'), lease))).code).toBe('ERR_STORE_OPERATION_NOT_FOUND');
      expect((await caught(store.readChanges('demo', 'nope'))).code).toBe('ERR_STORE_OPERATION_NOT_FOUND');
    });

    it('refuses an invalid change without writing it', async () => {
      const err = await caught(store.appendChange('demo', 'op-1', { phase: '/a', state: 'done', at: AT } as never, lease));
      expect(err.code).toBe('ERR_STORE_INVALID_CHANGE');
      expect((await store.appendChange('demo', 'op-1', change('/a'), lease)).seq).toBe(1);
    });

    it('keeps error and owner fields', async () => {
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
});
