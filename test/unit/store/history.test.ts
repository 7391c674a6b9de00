import { appendFile, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { JsonStore } from '../../../src/store/json-store.js';
import type { HistoryEvent } from '../../../src/store/store.js';
import { caught } from '../../helpers/caught.js';
import { cleanup, tempDir } from './fixtures.js';

const by = { host: 'h', pid: 1, command: 'test' };
const event = (n: number, extra: Partial<HistoryEvent> = {}): HistoryEvent => ({
  type: 'node.degraded',
  at: `2026-11-29T02:00:0${n}.000Z`,
  node: `node-${n}`,
  probe: 'runtime-health',
  by,
  ...extra,
});

describe('JsonStore › status history', () => {
  let dir: string;
  let store: JsonStore;
  const file = () => path.join(dir, 'clusters/demo/history.ndjson');

  beforeEach(async () => {
    dir = await tempDir();
    store = new JsonStore(dir);
  });
  afterEach(async () => {
    await store.close();
    await cleanup(dir);
  });

  it('is empty before anything happened and keeps appends oldest first, without a lease', async () => {
    expect(await store.readHistory('demo')).toEqual([]);
    await store.appendHistory('demo', event(1));
    await store.appendHistory('demo', event(2, { type: 'operation.started', operation: 'op-1' }));
    expect((await store.readHistory('demo')).map((e) => [e.type, e.node])).toEqual([
      ['node.degraded', 'node-1'],
      ['operation.started', 'node-2'],
    ]);
  });

  it('keeps every line of concurrent appends whole', async () => {
    await Promise.all(Array.from({ length: 20 }, (_, i) => store.appendHistory('demo', event(i % 10, { message: 'x'.repeat(500) }))));
    expect(await store.readHistory('demo')).toHaveLength(20);
  });

  it('skips a torn last line, and the next append does not join it', async () => {
    await store.appendHistory('demo', event(1));
    await appendFile(file(), '{"type":"node.healthy","at":"2026-11-');
    expect(await store.readHistory('demo')).toHaveLength(1);
    await store.appendHistory('demo', event(3));
    expect((await store.readHistory('demo')).map((e) => e.node)).toEqual(['node-1', 'node-3']);
    expect((await readFile(file(), 'utf8')).split('\n')).toHaveLength(4);
  });

  it('refuses a damaged entry in the middle, naming the file and line', async () => {
    await store.appendHistory('demo', event(1));
    await writeFile(file(), `${await readFile(file(), 'utf8')}{"type":"bogus","at":"x"}\n`);
    await store.appendHistory('demo', event(2));
    const err = await caught(store.readHistory('demo'));
    expect(err).toMatchObject({ code: 'ERR_STORE_CORRUPT' });
    expect((err as Error).message).toContain('history.ndjson');
    expect((err as Error).message).toContain('line 2');
  });
});
