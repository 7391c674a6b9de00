import { describe, expect, it } from 'vitest';
import { HoistError } from '../../../src/errors.js';
import { rollbackOperation, rollbackPhase } from '../../../src/fsm/rollback.js';
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

const code = (err: unknown) => (HoistError.isHoistError(err) ? err.code : String(err));

describe('engine › rollback of a phase', () => {
  it('rolls back a completed leaf: in_progress then rolled_back, with progress lines', async () => {
    const { registry, calls } = recordingRegistry();
    const h = await harness(demo(), registry);
    await (await h.make()).execute('/init/a');
    await rollbackPhase(await h.make(), '/init/a');
    expect(calls.at(-1)).toBe('rollback /init/a');
    expect(h.history().slice(2)).toEqual(['/init/a in_progress', '/init/a rolled_back']);
    expect(h.lines).toContain('Rolling back "/init/a" on node-1');
    expect(h.lines.at(-1)).toMatch(/^Rolling back phase "\/init\/a" finished in /);
    // Parent state after one rolled-back child and one unstarted one (rule 4).
    expect((await h.make()).state.stateOf('/init')).toBe('rolled_back');
  });

  it('refuses an unstarted phase and an already rolled back phase, even with --force', async () => {
    const { registry } = recordingRegistry();
    const h = await harness(demo(), registry);
    expect(code(await rollbackPhase(await h.make(), '/init/a', { force: true }).catch((e) => e))).toBe('ERR_PHASE_NOT_STARTED');
    await (await h.make()).execute('/init/a');
    await rollbackPhase(await h.make(), '/init/a');
    const err = await rollbackPhase(await h.make(), '/init/a', { force: true }).catch((e) => e);
    expect(code(err)).toBe('ERR_PHASE_ROLLED_BACK');
    expect((err as Error).message).toBe('phase "/init/a" has already been rolled back');
  });

  it('refuses while dependents are applied and lists them; --force overrides', async () => {
    const { registry } = recordingRegistry();
    const h = await harness(demo(), registry);
    await (await h.make()).execute('/init');
    await (await h.make()).execute('/checks');
    await (await h.make()).execute('/masters/a/drain');
    const err = await rollbackPhase(await h.make(), '/init/a').catch((e) => e);
    expect(code(err)).toBe('ERR_DEPENDENTS_APPLIED');
    // /checks requires /init (an ancestor of /init/a); /masters requires /checks.
    // Named once, in the message (the error printed them a second time as details before).
    expect((err as HoistError).message).toBe('phase "/init/a" has dependents that must be rolled back first: /checks, /masters');
    expect((err as HoistError).details).toEqual([]);
    expect(h.history().filter((l) => l.includes('rolled_back'))).toEqual([]);
    await rollbackPhase(await h.make(), '/init/a', { force: true });
    expect(h.history().at(-1)).toBe('/init/a rolled_back');
  });

  it('a sibling that requires the phase blocks its rollback', async () => {
    const { registry } = recordingRegistry();
    const h = await harness(demo(), registry);
    for (const id of ['/init', '/checks', '/masters/a/drain', '/masters/a/upgrade']) await (await h.make()).execute(id);
    const err = await rollbackPhase(await h.make(), '/masters/a/drain').catch((e) => e);
    expect((err as HoistError).message).toContain('rolled back first: /masters/a/upgrade');
    await rollbackPhase(await h.make(), '/masters/a/upgrade');
    await rollbackPhase(await h.make(), '/masters/a/drain');
    expect((await h.make()).state.stateOf('/masters/a')).toBe('rolled_back');
  });

  it('rolls back a group: started children in reverse order, unstarted ones untouched', async () => {
    const { registry, calls } = recordingRegistry();
    const h = await harness(demo(), registry);
    for (const id of ['/init', '/checks', '/masters']) await (await h.make()).execute(id);
    calls.length = 0;
    await rollbackPhase(await h.make(), '/masters');
    expect(calls).toEqual(['rollback /masters/b/drain', 'rollback /masters/a/upgrade', 'rollback /masters/a/drain']);
  });

  it('marks a leaf that only failed its preCheck rolled back without calling the executor', async () => {
    const { registry, calls } = recordingRegistry({ failOn: { preCheck: ['/init/a'] } });
    const h = await harness(demo(), registry);
    await (await h.make()).execute('/init/a').catch(() => undefined);
    await rollbackPhase(await h.make(), '/init/a');
    expect(calls).toEqual(['preCheck /init/a']);
    expect(h.history()).toEqual(['/init/a failed', '/init/a rolled_back']);
  });

  it('records a failed rollback as failed, and it can be retried', async () => {
    const { registry } = recordingRegistry({ failOn: { rollback: ['/init/a'] }, failOnce: true });
    const h = await harness(demo(), registry);
    await (await h.make()).execute('/init/a');
    await expect(rollbackPhase(await h.make(), '/init/a')).rejects.toThrow('rollback of phase "/init/a" failed');
    expect(h.history().at(-1)).toBe('/init/a failed');
    await rollbackPhase(await h.make(), '/init/a');
    expect(h.history().at(-1)).toBe('/init/a rolled_back');
  });
});

describe('engine › rollback of the operation', () => {
  it('dry run lists started leaves in reverse plan order and changes nothing', async () => {
    const { registry } = recordingRegistry();
    const h = await harness(demo(), registry);
    for (const id of ['/init', '/checks', '/masters/a/drain']) await (await h.make()).execute(id);
    const before = h.history().length;
    const order = await rollbackOperation(await h.make(), { dryRun: true });
    expect(order.map((p) => p.id)).toEqual(['/masters/a/drain', '/checks', '/init/b', '/init/a']);
    expect(h.lines.filter((l) => l.startsWith('[DRY-RUN]'))).toEqual([
      '[DRY-RUN] Rolling back "/masters/a/drain" on node-1',
      '[DRY-RUN] Rolling back "/checks" on node-1',
      '[DRY-RUN] Rolling back "/init/b" on node-1',
      '[DRY-RUN] Rolling back "/init/a" on node-1',
    ]);
    expect(h.history()).toHaveLength(before);
  });

  it('rolls back failed and in-progress leaves too, newest first', async () => {
    const { registry, calls } = recordingRegistry({ failOn: { execute: ['/masters/a/upgrade'] } });
    const h = await harness(demo(), registry);
    await (await h.make()).resume().catch(() => undefined);
    calls.length = 0;
    await rollbackOperation(await h.make());
    expect(calls).toEqual([
      'rollback /masters/a/upgrade',
      'rollback /masters/a/drain',
      'rollback /checks',
      'rollback /init/b',
      'rollback /init/a',
    ]);
    const e = await h.make();
    expect(e.state.leafIds().every((id) => ['rolled_back', 'unstarted'].includes(e.state.stateOf(id)))).toBe(true);
  });
});
