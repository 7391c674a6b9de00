/**
 * Interruptions as an operator meets them: Ctrl-C during a phase (exit 130, phase failed
 * "interrupted", plan resumable) and a kill -9 of hoist mid-phase (phase shown Interrupted,
 * resume re-runs it). Real sandbox nodes on 127.0.30.x.
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa, type ResultPromise } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const root = join(import.meta.dirname, '..', '..', '..');
const state = mkdtempSync(join(tmpdir(), 'hoist-int-'));
const env = { HOIST_STATE_DIR: state };
const cluster = join(state, 'sandbox', 'cluster.yaml');
const hoist = (...args: string[]) => execa(join(root, 'bin', 'hoist'), ['-c', cluster, ...args], { env, reject: false, cwd: root });

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

async function leafState(id: string): Promise<{ state: string; interrupted?: boolean; error?: { code: string } | null }> {
  const doc = JSON.parse((await hoist('plan', '-o', 'json')).stdout) as { phases: unknown[] };
  const find = (list: { id: string; phases: unknown[] }[]): { state: string } | undefined => {
    for (const p of list) {
      if (p.id === id) return p as unknown as { state: string };
      const inner = find(p.phases as { id: string; phases: unknown[] }[]);
      if (inner) return inner;
    }
    return undefined;
  };
  return find(doc.phases as { id: string; phases: unknown[] }[]) as never;
}

beforeAll(async () => {
  const up = await execa(join(root, 'bin', 'hoist'), ['sandbox', 'up', '--first-address', '127.0.30.2'], { env, reject: false });
  expect(up.exitCode, up.stderr).toBe(0);
  const op = await hoist('upgrade', '--manual', 'fixtures/images/upgrade-demo-2.0.0');
  expect(op.exitCode, op.stderr).toBe(0);
  expect((await hoist('plan', 'execute', '--phase', '/init')).exitCode).toBe(0);
}, 180_000);

afterAll(async () => {
  await execa(join(root, 'bin', 'hoist'), ['sandbox', 'down'], { env, reject: false });
}, 120_000);

describe('interruptions', () => {
  it('Ctrl-C during a phase: exit 130, the phase failed "interrupted", and resume finishes it', async () => {
    const child = hoist('plan', 'execute', '--phase', '/checks');
    await waitFor(child, 'Executing "/checks" on node-1');
    child.kill('SIGINT');
    const r = await child;
    expect(r.exitCode).toBe(130);
    expect(r.stderr).toContain('error[ERR_INTERRUPTED]');
    expect(await leafState('/checks')).toMatchObject({ state: 'failed', error: { code: 'ERR_INTERRUPTED', message: 'interrupted' } });
    const again = await hoist('plan', 'execute', '--phase', '/checks');
    expect(again.exitCode, again.stderr).toBe(0);
    expect(await leafState('/checks')).toMatchObject({ state: 'completed' });
  }, 180_000);

  it('SIGTERM during a phase: exit 143, the phase failed "interrupted", and the lease is released', async () => {
    expect((await hoist('plan', 'rollback', '--phase', '/checks')).exitCode).toBe(0);
    const child = hoist('plan', 'execute', '--phase', '/checks');
    await waitFor(child, 'Executing "/checks" on node-1');
    child.kill('SIGTERM');
    const r = await child;
    expect(r.exitCode, r.stderr).toBe(143);
    expect(r.stderr).toContain('Received SIGTERM');
    expect(await leafState('/checks')).toMatchObject({ state: 'failed', error: { code: 'ERR_INTERRUPTED' } });
    const lease = JSON.parse(readFileSync(join(state, 'clusters', 'upgrade-demo', 'lock'), 'utf8')) as { released?: string; pid: number };
    expect(lease).toMatchObject({ pid: child.pid, released: expect.any(String) });
    const again = await hoist('plan', 'execute', '--phase', '/checks');
    expect(again.exitCode, again.stderr).toBe(0);
  }, 180_000);

  it('kill -9 mid-phase: the phase shows Interrupted, and resume re-runs it', async () => {
    expect((await hoist('plan', 'rollback', '--phase', '/checks')).exitCode).toBe(0);
    const child = hoist('plan', 'execute', '--phase', '/checks');
    // Killed only once the phase is recorded in progress: that is the state a crash leaves behind.
    while ((await leafState('/checks')).state !== 'in_progress') await new Promise((r) => setTimeout(r, 50));
    child.kill('SIGKILL');
    await child;
    expect(await leafState('/checks')).toMatchObject({ state: 'in_progress', interrupted: true });
    const table = await hoist('plan');
    expect(table.stdout).toMatch(/^→ checks +Run preflight checks +Interrupted /m);
    // Its owner is provably gone (pid dead, lease stale), so no --force is needed.
    const plain = await hoist('plan', 'execute', '--phase', '/checks');
    expect(plain.exitCode, plain.stderr).toBe(0);
    expect(plain.stderr).toContain('Executing "/checks" on node-1');
    expect(await leafState('/checks')).toMatchObject({ state: 'completed' });
    const resumed = await hoist('plan', 'resume');
    expect(resumed.exitCode, resumed.stderr).toBe(0);
    expect(await leafState('/gc')).toMatchObject({ state: 'completed' });
  }, 180_000);
});
