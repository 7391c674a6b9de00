/**
 * Done-when (a) of the fenced ownership: an owner paused with SIGSTOP past its lease, a second
 * command taking over, the first woken up with SIGCONT. The first must stop with exit 4 naming
 * the new owner before it appends anything, the changelog stays readable with strictly
 * increasing seqs, and the second finishes the operation. Real bin/hoist processes on one
 * state directory against real sandbox nodes on 127.0.60.x; the lease TTL is shortened
 * through HOIST_LEASE_TTL_MS so that the pause lasts seconds.
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa, type ResultPromise } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const TTL_MS = 4_000;
const root = join(import.meta.dirname, '..', '..', '..');
const state = mkdtempSync(join(tmpdir(), 'hoist-lease-'));
const env = { HOIST_STATE_DIR: state, HOIST_LEASE_TTL_MS: String(TTL_MS) };
const cluster = join(state, 'sandbox', 'cluster.yaml');
const hoist = (...args: string[]) => execa(join(root, 'bin', 'hoist'), ['-c', cluster, ...args], { env, reject: false, cwd: root });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Line {
  seq: number;
  phase: string;
  state: string;
  owner?: { pid: number; epoch?: number };
}

let opId = '';
const changelog = (): Line[] =>
  readFileSync(join(state, 'clusters', 'upgrade-demo', 'operations', opId, 'changelog.ndjson'), 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as Line);

/** Resolves once the child's stderr contains `text`. */
function waitFor(child: ResultPromise, text: string): Promise<void> {
  return new Promise((resolve, reject) => {
    let seen = '';
    child.stderr?.on('data', (chunk: Buffer) => {
      seen += chunk.toString();
      if (seen.includes(text)) resolve();
    });
    child.then(() => reject(new Error(`exited before printing ${text}: ${seen}`)), reject);
  });
}

beforeAll(async () => {
  const up = await execa(join(root, 'bin', 'hoist'), ['sandbox', 'up', '--first-address', '127.0.60.2'], { env, reject: false });
  expect(up.exitCode, up.stderr).toBe(0);
  const op = await hoist('upgrade', '--manual', 'fixtures/images/upgrade-demo-2.0.0', '-o', 'json');
  expect(op.exitCode, op.stderr).toBe(0);
  opId = (JSON.parse(op.stdout) as { id: string }).id;
}, 600_000);

afterAll(async () => {
  await execa(join(root, 'bin', 'hoist'), ['sandbox', 'down'], { env, reject: false });
}, 120_000);

describe('lease takeover', () => {
  it('a paused owner woken after a takeover exits 4 before appending; --tail sees the expiry; the new owner finishes', async () => {
    const first = hoist('plan', 'resume');
    await waitFor(first, 'Executing "/init/');
    first.kill('SIGSTOP');
    const before = changelog();
    // Past the lease's expiry nobody renews it: the phase it left in progress reads Interrupted.
    await sleep(TTL_MS + 1_500);
    const shown = await hoist('plan');
    expect(shown.exitCode, shown.stderr).toBe(0);
    if (before.some((c) => c.state === 'in_progress')) expect(shown.stdout).toMatch(/Interrupted/);
    // A follower learns that the writer's lease expired instead of polling forever.
    const tail = await hoist('plan', '--tail');
    expect(tail.exitCode, tail.stderr).toBe(4);
    expect(tail.stderr).toContain('error[ERR_LOCK_EXPIRED]');
    expect(tail.stderr).toContain(`(pid ${first.pid} on host`);

    const second = hoist('plan', 'resume');
    await waitFor(second, 'Executing "');
    first.kill('SIGCONT');
    const woken = await first;
    expect(woken.exitCode, woken.stderr).toBe(4);
    expect(woken.stderr).toContain('error[ERR_LOCK_LOST]');
    expect(woken.stderr).toContain(`taken over by "hoist plan resume" (pid ${second.pid} on host`);
    // Nothing the first process could still append carries its pid after the pause.
    const during = changelog().slice(before.length);
    expect(during.filter((c) => c.owner?.pid === first.pid)).toEqual([]);

    const finished = await second;
    expect(finished.exitCode, finished.stderr).toBe(0);
    const all = changelog();
    expect(all.map((c) => c.seq)).toEqual(all.map((_, i) => i + 1));
    expect(all.slice(before.length).filter((c) => c.owner && c.owner.pid !== second.pid)).toEqual([]);

    // The takeover is shown, naming the paused owner.
    const table = await hoist('plan');
    expect(table.stdout).toContain(`Ownership: taken over from pid ${first.pid} on `);
    const status = await hoist('status');
    if (status.stdout.includes('Active operations')) expect(status.stdout).toContain(`taken over from pid ${first.pid} on `);
    const doc = JSON.parse((await hoist('plan', '-o', 'json')).stdout) as { operation: { state: string }; phases: { state: string }[] };
    expect(doc.phases.every((p) => p.state === 'completed')).toBe(true);
    if (doc.operation.state === 'in_progress') expect((await hoist('plan', 'complete')).exitCode).toBe(0);
    const done = JSON.parse((await hoist('status', '-o', 'json')).stdout) as { status: string; installedVersion: string };
    expect(done).toMatchObject({ status: 'active', installedVersion: '2.0.0' });
  }, 300_000);
});
