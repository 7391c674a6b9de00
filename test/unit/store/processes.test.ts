/**
 * Store behaviour across real processes: children run the store bundled by esbuild with plain
 * `node`, so they exercise the same code as the CLI would.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { JsonStore } from '../../../src/store/json-store.js';
import { bundleStore, cleanup, operation, plan, tempDir } from './fixtures.js';

const HOST = 'host-a';

const RACER = `
import { existsSync } from 'node:fs';
const [bundle, dir, go] = process.argv.slice(2);
const { JsonStore } = await import(bundle);
const store = new JsonStore(dir, { hostname: '${HOST}' });
console.log('ready');
while (!existsSync(go)) {} // spin so both racers start within microseconds of each other
try {
  await store.lock('demo', { host: '${HOST}', pid: process.pid, command: 'racer' });
  console.log('won');
} catch (err) {
  console.log(err.code ?? String(err));
}
// Hold the lock (and stay alive) until the test closes stdin.
process.stdin.resume();
process.stdin.on('end', () => process.exit(0));
`;

const APPENDER = `
const [bundle, dir] = process.argv.slice(2);
const { JsonStore } = await import(bundle);
const store = new JsonStore(dir);
const { hostname } = await import('node:os');
const lease = await store.lock('demo', { host: hostname(), pid: process.pid, command: 'appender' });
for (let i = 1; ; i++) {
  await store.appendChange('demo', 'op-1', { phase: '/p' + (i % 7), state: 'completed', at: new Date().toISOString(), owner: { host: 'h', pid: process.pid } }, lease);
  if (i === 200) console.log('appending');
}
`;

/** Lines printed by a child, one at a time. */
function lines(child: ChildProcess): AsyncIterator<string> {
  return createInterface({ input: child.stdout! })[Symbol.asyncIterator]();
}

async function nextLine(it: AsyncIterator<string>): Promise<string> {
  const { value, done } = await it.next();
  if (done) throw new Error('child exited early');
  return value;
}

describe('store across processes', () => {
  let work: string;
  let bundle: string;

  beforeAll(async () => {
    work = await tempDir();
    bundle = await bundleStore(work);
    await writeFile(path.join(work, 'racer.mjs'), RACER);
    await writeFile(path.join(work, 'appender.mjs'), APPENDER);
  }, 60_000);
  afterAll(async () => {
    await cleanup(work);
  });

  it('lets exactly one of two racing processes take over a stale lock', async () => {
    const deadPid = Number(spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' }).stdout);
    for (let round = 0; round < 5; round++) {
      const dir = path.join(work, `race-${round}`);
      const go = path.join(dir, 'go');
      const store = new JsonStore(dir, { hostname: HOST });
      await mkdir(path.join(dir, 'clusters/demo'), { recursive: true });
      const now = new Date().toISOString();
      await writeFile(
        store.lockPath('demo'),
        JSON.stringify({ host: HOST, pid: deadPid, command: 'crashed', acquired: now, heartbeat: now }),
      );

      const racers = [0, 1].map(() =>
        spawn(process.execPath, [path.join(work, 'racer.mjs'), bundle, dir, go], { stdio: ['pipe', 'pipe', 'inherit'] }),
      );
      const outs = racers.map(lines);
      expect(await Promise.all(outs.map(nextLine))).toEqual(['ready', 'ready']);
      await writeFile(go, '');
      const results = await Promise.all(outs.map(nextLine));
      expect([...results].sort()).toEqual(['ERR_LOCK_HELD', 'won']);

      const winner = racers[results.indexOf('won')]!;
      const held = await store.readLock('demo');
      expect(held?.record.pid).toBe(winner.pid);
      expect(held?.stale).toBe(false);
      for (const r of racers) r.stdin!.end();
      await Promise.all(racers.map((r) => once(r, 'exit')));
    }
  }, 60_000);

  it('keeps a readable changelog when the writer is killed with SIGKILL mid-append', async () => {
    for (let round = 0; round < 3; round++) {
      const dir = path.join(work, `kill-${round}`);
      const store = new JsonStore(dir);
      const creator = await store.lock('demo', { host: 'test', pid: process.pid, command: 'test' });
      await store.createOperation(operation('op-1'), plan('op-1'), creator);
      await creator.release();
      const child = spawn(process.execPath, [path.join(work, 'appender.mjs'), bundle, dir], { stdio: ['ignore', 'pipe', 'inherit'] });
      expect(await nextLine(lines(child))).toBe('appending');
      // Let it run a varying while longer, then kill it without warning.
      await new Promise((r) => setTimeout(r, 20 + round * 30));
      child.kill('SIGKILL');
      await once(child, 'exit');

      const raw = (await readFile(path.join(dir, 'clusters/demo/operations/op-1/changelog.ndjson'), 'utf8')).split('\n');
      raw.pop(); // '' when the last line is complete; a torn fragment otherwise
      for (const l of raw) expect(() => JSON.parse(l)).not.toThrow();

      // Every complete line is read back, the torn fragment is not.
      const changes = await store.readChanges('demo', 'op-1');
      expect(changes.length).toBe(raw.length);
      expect(changes.length).toBeGreaterThanOrEqual(200);
      expect(changes.map((c) => c.seq)).toEqual(changes.map((_, i) => i + 1));
      // The killed appender's lease is stale (its pid is gone): the next writer takes it over.
      const lease = await store.lock('demo', { host: 'test', pid: process.pid, command: 'test' });
      const next = await store.appendChange('demo', 'op-1', { phase: '/after', state: 'completed', at: new Date().toISOString() }, lease);
      await lease.release();
      expect(next.seq).toBe(changes.length + 1);
      const after = await store.readChanges('demo', 'op-1');
      expect(after.at(-1)).toEqual(next);
      expect(after.length).toBe(changes.length + 1);
      await store.close();
    }
  }, 60_000);
});
