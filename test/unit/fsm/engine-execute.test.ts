import { describe, expect, it } from 'vitest';
import { HoistError } from '../../../src/errors.js';
import { harness } from '../../helpers/engine-harness.js';
import { group, leaf, plan } from '../../helpers/plan-dsl.js';
import { recordingRegistry } from '../../helpers/recording-executors.js';

const demo = () =>
  plan([
    group('/init', [leaf('/init/a'), leaf('/init/b')], { parallel: 2 }),
    leaf('/checks', ['/init']),
    group(
      '/masters',
      [
        group('/masters/a', [leaf('/masters/a/drain'), leaf('/masters/a/upgrade', ['/masters/a/drain'])]),
        group('/masters/b', [leaf('/masters/b/drain')], { requires: ['/masters/a'] }),
      ],
      { requires: ['/checks'] },
    ),
  ]);

async function codeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (err) {
    if (HoistError.isHoistError(err)) return err.code;
    throw err;
  }
  throw new Error('expected a HoistError');
}

describe('engine › execute', () => {
  it('runs a leaf through preCheck, execute and postCheck and records in_progress then completed', async () => {
    const { registry, calls } = recordingRegistry();
    const h = await harness(demo(), registry);
    await (await h.make()).execute('/init/a');
    expect(calls).toEqual(['preCheck /init/a', 'execute /init/a', 'postCheck /init/a']);
    expect(h.history()).toEqual(['/init/a in_progress', '/init/a completed']);
    expect(h.lines[0]).toBe('Executing "/init/a" on node-1');
    expect(h.lines.at(-1)).toMatch(/^Executing phase "\/init\/a" finished in /);
  });

  it('skips a completed phase without touching the executor', async () => {
    const { registry, calls } = recordingRegistry();
    const h = await harness(demo(), registry);
    await (await h.make()).execute('/init/a');
    calls.length = 0;
    await (await h.make()).execute('/init/a');
    expect(calls).toEqual([]);
    expect(h.history()).toHaveLength(2);
  });

  it('refuses a phase whose requirement (or an ancestor requirement) is not completed', async () => {
    const { registry } = recordingRegistry();
    const h = await harness(demo(), registry);
    const e = await h.make();
    expect(await codeOf(e.execute('/checks'))).toBe('ERR_REQUIRES_NOT_COMPLETED');
    await expect(e.execute('/masters/a/drain')).rejects.toThrow('required phase "/checks" is not completed');
    expect(h.history()).toEqual([]);
  });

  it('bypasses requirements of a single phase with --force but never for a group', async () => {
    const { registry } = recordingRegistry();
    const h = await harness(demo(), registry);
    const e = await h.make();
    await e.execute('/checks', { force: true });
    expect(h.history()).toEqual(['/checks in_progress', '/checks completed']);
    expect(await codeOf(e.execute('/masters', { force: true }))).toBe('ERR_FORCE_COMPOSITE');
  });

  it('reports an unknown phase', async () => {
    const { registry } = recordingRegistry();
    const h = await harness(demo(), registry);
    await expect((await h.make()).execute('/nope')).rejects.toThrow('phase "/nope" not found');
  });

  it('runs a group in order, honouring requires between siblings', async () => {
    const { registry, calls } = recordingRegistry();
    const h = await harness(demo(), registry);
    const e = await h.make();
    await e.execute('/init');
    await e.execute('/checks');
    await e.execute('/masters');
    expect(calls.filter((c) => c.startsWith('execute'))).toEqual([
      'execute /init/a',
      'execute /init/b',
      'execute /checks',
      'execute /masters/a/drain',
      'execute /masters/a/upgrade',
      'execute /masters/b/drain',
    ]);
    expect(e.state.stateOf('/masters')).toBe('completed');
  });

  it('records a preCheck failure as failed with the check error (Gravity left no trace)', async () => {
    const { registry, calls } = recordingRegistry({ failOn: { preCheck: ['/init/a'] } });
    const h = await harness(demo(), registry);
    const e = await h.make();
    expect(await codeOf(e.execute('/init/a'))).toBe('ERR_UNEXPECTED');
    expect(calls).toEqual(['preCheck /init/a']);
    expect(h.history()).toEqual(['/init/a failed']);
    expect(h.store.changes.get('op-1')![0]!.error!.message).toBe('precheck failed: preCheck of /init/a broke');
  });

  it('records a postCheck failure as failed (Gravity left it in progress)', async () => {
    const { registry } = recordingRegistry({ failOn: { postCheck: ['/init/a'] } });
    const h = await harness(demo(), registry);
    await expect((await h.make()).execute('/init/a')).rejects.toThrow('postcheck failed');
    expect(h.history()).toEqual(['/init/a in_progress', '/init/a failed']);
  });

  it('a failed phase exits with code 6 and is simply re-executed next time', async () => {
    const { registry } = recordingRegistry({ failOn: { execute: ['/init/b'] }, failOnce: true });
    const h = await harness(demo(), registry);
    const err = await (await h.make()).execute('/init').catch((e: unknown) => e);
    expect(HoistError.isHoistError(err) && err.exitCode).toBe(6);
    expect(HoistError.isHoistError(err) && err.message).toBe('phase "/init/b" failed: execute of /init/b broke');
    await (await h.make()).execute('/init');
    const of = (id: string) => h.history().filter((l) => l.startsWith(`${id} `));
    expect(of('/init/a')).toEqual(['/init/a in_progress', '/init/a completed']);
    expect(of('/init/b')).toEqual(['/init/b in_progress', '/init/b failed', '/init/b in_progress', '/init/b completed']);
  });

  it('refuses a leaf in progress under the current lease without --force and re-runs it with --force', async () => {
    const { registry } = recordingRegistry();
    const h = await harness(demo(), registry);
    const live = { host: 'h', pid: process.pid, epoch: h.lease.epoch };
    await h.store.appendChange('demo', 'op-1', { phase: '/init/a', state: 'in_progress', at: 'x', owner: live }, h.lease);
    expect(await codeOf((await h.make()).execute('/init/a'))).toBe('ERR_PHASE_IN_PROGRESS');
    await (await h.make()).execute('/init/a', { force: true });
    expect(h.history().at(-1)).toBe('/init/a completed');
  });

  it('executes a leaf whose owner lost the lease (another epoch) without --force', async () => {
    const { registry } = recordingRegistry();
    const h = await harness(demo(), registry);
    const gone = { host: 'h', pid: process.pid, epoch: h.lease.epoch - 1 };
    await h.store.appendChange('demo', 'op-1', { phase: '/init/a', state: 'in_progress', at: 'x', owner: gone }, h.lease);
    await (await h.make()).execute('/init/a');
    expect(h.history().at(-1)).toBe('/init/a completed');
  });
});

describe('engine › parallel groups', () => {
  it('runs at most `parallel` children at once', async () => {
    const kids = ['a', 'b', 'c', 'd', 'e'].map((n) => leaf(`/g/${n}`));
    const { registry, active } = recordingRegistry();
    const h = await harness(plan([group('/g', kids, { parallel: 2 })]), registry);
    await (await h.make()).execute('/g');
    expect(active.max).toBe(2);
    expect(h.history().filter((l) => l.endsWith('completed'))).toHaveLength(5);
  });

  it('runs one at a time when parallel is 1', async () => {
    const kids = ['a', 'b', 'c'].map((n) => leaf(`/g/${n}`));
    const { registry, active } = recordingRegistry();
    const h = await harness(plan([group('/g', kids, { parallel: 1 })]), registry);
    await (await h.make()).execute('/g');
    expect(active.max).toBe(1);
  });

  it('never starts a child before its requirement, even with room to spare', async () => {
    const kids = [leaf('/g/a'), leaf('/g/b', ['/g/a']), leaf('/g/c')];
    const { registry, calls } = recordingRegistry();
    const h = await harness(plan([group('/g', kids, { parallel: 3 })]), registry);
    await (await h.make()).execute('/g');
    const exec = calls.filter((c) => c.startsWith('execute'));
    expect(exec.indexOf('execute /g/b')).toBeGreaterThan(exec.indexOf('execute /g/a'));
    expect(h.history().indexOf('/g/b in_progress')).toBeGreaterThan(h.history().indexOf('/g/a completed'));
  });

  it('starts nothing new after a failure, lets running siblings finish, and rethrows the first error', async () => {
    const kids = ['a', 'b', 'c', 'd'].map((n) => leaf(`/g/${n}`));
    const { registry } = recordingRegistry({ failOn: { execute: ['/g/a'] } });
    const h = await harness(plan([group('/g', kids, { parallel: 2 })]), registry);
    await expect((await h.make()).execute('/g')).rejects.toThrow('phase "/g/a" failed');
    expect([...h.history()].sort()).toEqual(['/g/a failed', '/g/a in_progress', '/g/b completed', '/g/b in_progress']);
  });
});

describe('engine › resume', () => {
  it('runs the whole plan, skipping completed phases and re-running failed ones', async () => {
    const { registry, calls } = recordingRegistry({ failOn: { execute: ['/checks'] }, failOnce: true });
    const h = await harness(demo(), registry);
    await expect((await h.make()).resume()).rejects.toThrow('phase "/checks" failed');
    expect(h.history()).not.toContain('/masters/a/drain in_progress');
    calls.length = 0;
    await (await h.make()).resume();
    expect(calls.filter((c) => c.startsWith('execute'))).toEqual([
      'execute /checks',
      'execute /masters/a/drain',
      'execute /masters/a/upgrade',
      'execute /masters/b/drain',
    ]);
    expect(h.lines.at(-1)).toMatch(/^Executing phase "\/" finished in/);
  });

  it('re-runs an interrupted in-progress leaf without --force', async () => {
    const { registry, calls } = recordingRegistry();
    const h = await harness(demo(), registry);
    await h.store.appendChange(
      'demo',
      'op-1',
      { phase: '/init/a', state: 'in_progress', at: 'x', owner: { host: 'h', pid: 999999 } },
      h.lease,
    );
    await (await h.make()).resume();
    expect(calls[0]).toBe('preCheck /init/a');
    expect((await h.make()).state.stateOf('/')).toBe('completed');
    expect(h.history().filter((l) => l.endsWith('completed'))).toHaveLength(6);
  });

  it('treats `execute --phase /` as resume', async () => {
    const { registry } = recordingRegistry();
    const h = await harness(demo(), registry);
    await (await h.make()).execute('/');
    expect(h.history().filter((l) => l.endsWith('completed'))).toHaveLength(6);
  });
});

describe('engine › interruption', () => {
  it('aborts running leaves, records them failed "interrupted" and throws exit 130', async () => {
    const ac = new AbortController();
    const { registry } = recordingRegistry({ slow: ['/init/a', '/init/b'], onSlowStart: () => setImmediate(() => ac.abort()) });
    const h = await harness(demo(), registry);
    const err = await (await h.make({ signal: ac.signal })).execute('/init').catch((e: unknown) => e);
    expect(HoistError.isHoistError(err) && err.exitCode).toBe(130);
    const failed = h.store.changes.get('op-1')!.filter((c) => c.state === 'failed');
    expect(failed.length).toBeGreaterThanOrEqual(1);
    for (const c of failed) expect(c.error).toEqual({ code: 'ERR_INTERRUPTED', message: 'interrupted' });
    // The plan stays resumable.
    const { registry: again } = recordingRegistry();
    const h2 = await harness(demo(), again, {}, h.store);
    await (await h2.make()).resume();
    expect((await h2.make()).state.stateOf('/masters')).toBe('completed');
  });

  it('does not wait forever for an executor that ignores the abort signal', async () => {
    const ac = new AbortController();
    const { registry } = recordingRegistry({
      slow: ['/init/a'],
      ignoreAbort: true,
      slowMs: 60_000,
      onSlowStart: () => setImmediate(() => ac.abort()),
    });
    const h = await harness(demo(), registry, { abortGraceMs: 20 });
    const err = await (await h.make({ signal: ac.signal })).execute('/init/a').catch((e: unknown) => e);
    expect(HoistError.isHoistError(err) && err.code).toBe('ERR_INTERRUPTED');
    expect(h.history()).toEqual(['/init/a in_progress', '/init/a failed']);
  });

  it('fails a phase that outlives its deadline with ERR_PHASE_TIMEOUT', async () => {
    const { registry } = recordingRegistry({ slow: ['/init/a'] });
    const h = await harness(demo(), registry, { phaseTimeoutMs: 30, abortGraceMs: 10 });
    await expect((await h.make()).execute('/init/a')).rejects.toThrow(/did not finish within/);
    expect(h.store.changes.get('op-1')!.at(-1)!.error!.code).toBe('ERR_PHASE_TIMEOUT');
  });
});
