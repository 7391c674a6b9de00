import { promises as fs } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ChangelogAppender, type Fence, readChangelog } from '../../../src/store/changelog.js';
import type { NewPlanChange } from '../../../src/store/store.js';

const dirs: string[] = [];
afterEach(async () => {
  for (const d of dirs.splice(0)) await fs.rm(d, { recursive: true, force: true });
});

async function open(): Promise<ChangelogAppender> {
  const dir = await fs.mkdtemp(path.join(tmpdir(), 'hoist-changelog-group-'));
  dirs.push(dir);
  return ChangelogAppender.open(path.join(dir, 'changelog.ndjson'));
}

const change = (i: number): NewPlanChange => ({ phase: `/p${i}`, state: 'completed', at: new Date(1_700_000_000_000 + i).toISOString() });

describe('changelog group commit', () => {
  it('commits changes that arrive together under one fence turn, each with its own seq, in call order', async () => {
    const appender = await open();
    let turns = 0;
    const fence: Fence = (write) => {
      turns++;
      return write();
    };
    const first = appender.append(change(0), fence);
    const rest = Array.from({ length: 20 }, (_, i) => appender.append(change(i + 1), fence));
    const entries = await Promise.all([first, ...rest]);
    expect(entries.map((e) => e.seq)).toEqual(Array.from({ length: 21 }, (_, i) => i + 1));
    expect(entries.map((e) => e.phase)).toEqual(Array.from({ length: 21 }, (_, i) => `/p${i}`));
    // All twenty-one were queued before the first turn began: one fence, one write.
    expect(turns).toBe(1);
    const late = appender.append(change(21), fence);
    const later = appender.append(change(22), fence);
    expect((await Promise.all([late, later])).map((e) => e.seq)).toEqual([22, 23]);
    expect(turns).toBe(2);
    await appender.close();
    expect((await readChangelog(appender.file)).map((c) => c.seq)).toEqual(Array.from({ length: 23 }, (_, i) => i + 1));
  });

  it('refuses an invalid change alone: its neighbours in the same write land', async () => {
    const appender = await open();
    const results = await Promise.allSettled([
      appender.append(change(0)),
      appender.append(change(1)),
      appender.append({ ...change(2), state: 'nonsense' } as unknown as NewPlanChange),
      appender.append(change(3)),
    ]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'fulfilled', 'rejected', 'fulfilled']);
    expect((results[2] as PromiseRejectedResult).reason.code).toBe('ERR_STORE_INVALID_CHANGE');
    await appender.close();
    expect((await readChangelog(appender.file)).map((c) => [c.seq, c.phase])).toEqual([
      [1, '/p0'],
      [2, '/p1'],
      [3, '/p3'],
    ]);
  });

  it('fails every change of a group whose fence refuses (a lost lease), and nothing of it is written', async () => {
    const appender = await open();
    await appender.append(change(0));
    const lost: Fence = async () => {
      throw new Error('lease lost');
    };
    const results = await Promise.allSettled([appender.append(change(1), lost), appender.append(change(2), lost)]);
    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected']);
    const next = await appender.append(change(3));
    expect(next.seq).toBe(2);
    await appender.close();
    expect((await readChangelog(appender.file)).map((c) => c.phase)).toEqual(['/p0', '/p3']);
  });
});
