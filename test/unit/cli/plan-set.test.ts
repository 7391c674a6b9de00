import { describe, expect, it } from 'vitest';
import { DEMO_STATE, demoOperation } from '../../helpers/demo-operation.js';
import { harness } from '../../helpers/engine-harness.js';
import { leaf, plan } from '../../helpers/plan-dsl.js';
import { recordingRegistry } from '../../helpers/recording-executors.js';
import { runCli } from '../../helpers/run-cli.js';

const STATE = ['--state', DEMO_STATE];
/** plan set's --state is the phase's new state: the cluster is named by its inventory. */
const INVENTORY = ['-c', 'fixtures/clusters/demo-3-masters/cluster.yaml'];

describe('cli › plan set', () => {
  it('records the state with its reason: a marker and a note in plan, an entry in status history', async () => {
    const { stateDir, store, id, ids } = await demoOperation();
    const leafId = ids[0]!;
    const set = await runCli(['plan', 'set', '--phase', leafId, '--state', 'completed', '--reason', 'done by hand', ...INVENTORY], {
      stateDir,
    });
    expect(set.code, set.stderr).toBe(0);
    expect(set.stdout).toBe(
      `Phase "${leafId}" set to completed by hand (it was unstarted); recorded in the plan and in "hoist status history".\n`,
    );

    const last = (await store.readChanges('upgrade-demo', id)).at(-1)!;
    expect(last).toMatchObject({
      phase: leafId,
      state: 'completed',
      override: { reason: 'done by hand', by: expect.stringContaining('@') },
    });
    const table = await runCli(['plan', ...STATE], { stateDir });
    expect(table.stdout).toMatch(/✓ node-1\s+Initialize node "node-1"\s+Completed \(set by hand\)/);
    expect(table.stdout).toContain(`Set by hand ("hoist plan set"):\n\t${leafId}: Completed by `);
    expect(table.stdout).toContain(': done by hand\n');
    const json = JSON.parse((await runCli(['plan', '-o', 'json', ...STATE], { stateDir })).stdout) as {
      phases: { phases: { id: string; override?: unknown }[] }[];
    };
    expect(json.phases[0]!.phases[0]).toMatchObject({ id: leafId, override: { reason: 'done by hand' } });
    const history = await runCli(['status', 'history', ...STATE], { stateDir });
    expect(history.stdout).toMatch(
      new RegExp(`\\[Manual Override\\] phase=${leafId} operation=${id} "state set by hand: unstarted → completed: done by hand"`),
    );

    const failed = await runCli(['plan', 'set', '--phase', ids[1]!, '--state', 'failed', '--reason', 'disk replaced', ...INVENTORY], {
      stateDir,
    });
    expect(failed.code).toBe(0);
    expect((await runCli(['plan', ...STATE], { stateDir })).stdout).toContain('has failed\n\tset failed by hand: disk replaced\n');
    await store.close();
  });

  it('refuses an unknown phase, a group, an empty or missing reason and a bad state, changing nothing', async () => {
    const { stateDir, store, id, ids } = await demoOperation();
    const before = await store.readChanges('upgrade-demo', id);
    const cases: [string[], number, string][] = [
      [['--phase', '/nope', '--state', 'completed', '--reason', 'x'], 4, 'error[ERR_PHASE_NOT_FOUND]: phase "/nope" not found'],
      [['--phase', '/init', '--state', 'completed', '--reason', 'x'], 2, `error[ERR_PLAN_SET_GROUP]: phase "/init" is a group`],
      [['--phase', ids[0]!, '--state', 'completed', '--reason', '  '], 2, 'error[ERR_USAGE_REASON]: --reason is empty'],
      [['--phase', ids[0]!, '--state', 'completed'], 2, "required option '--reason <text>' not specified"],
      [
        ['--phase', ids[0]!, '--state', 'rolled_back', '--reason', 'x'],
        2,
        'error[ERR_USAGE_PLAN_SET_STATE]: --state "rolled_back" is not a state',
      ],
      [['--phase', ids[0]!, '--reason', 'x'], 2, 'error[ERR_USAGE_PLAN_SET_STATE]: "hoist plan set" needs --state'],
    ];
    for (const [args, code, message] of cases) {
      const r = await runCli(['plan', 'set', ...args, ...INVENTORY], { stateDir });
      expect(r.code, args.join(' ')).toBe(code);
      expect(r.stderr).toContain(message);
    }
    expect(await store.readChanges('upgrade-demo', id)).toEqual(before);
    expect((await runCli(['status', 'history', ...STATE], { stateDir })).stdout).not.toContain('Manual Override');
    await store.close();
  });

  it('takes the state file before "set" and the phase state after it; a bad state names the allowed ones', async () => {
    const { stateDir, store, id, ids } = await demoOperation();
    // The state file names the cluster as it does for every other command.
    const set = await runCli(['--state', DEMO_STATE, 'plan', 'set', '--phase', ids[0]!, '--state', 'failed', '--reason', 'disk gone'], {
      stateDir,
    });
    expect(set.code, set.stderr).toBe(0);
    expect(set.stdout).toContain(`Phase "${ids[0]}" set to failed by hand`);
    expect((await store.readChanges('upgrade-demo', id)).at(-1)).toMatchObject({ phase: ids[0], state: 'failed' });
    const inline = await runCli(['plan', 'set', `--state=${DEMO_STATE}`, '--phase', ids[1]!, '--reason', 'x', ...INVENTORY], { stateDir });
    expect(inline.code).toBe(2);
    expect(inline.stderr).toContain('is not a state "hoist plan set" records: one of completed, failed, unstarted');

    const before = await store.readChanges('upgrade-demo', id);
    const cases: [string[], string][] = [
      [
        ['plan', 'set', '--phase', ids[1]!, '--state', 'bogus', '--reason', 'x', ...INVENTORY],
        'error[ERR_USAGE_PLAN_SET_STATE]: --state "bogus" is not a state "hoist plan set" records: one of completed, failed, unstarted',
      ],
      [
        ['--state', DEMO_STATE, 'plan', 'set', '--phase', ids[1]!, '--reason', 'x'],
        'error[ERR_USAGE_PLAN_SET_STATE]: "hoist plan set" needs --state after "set": one of completed, failed, unstarted',
      ],
      [
        ['plan', 'set', '--phase', ids[1]!, '--state', 'completed', '--state', 'failed', '--reason', 'x', ...INVENTORY],
        'error[ERR_USAGE_STATE_TWICE]: --state is given 2 times after "set" (the phase state): "completed", "failed"',
      ],
    ];
    for (const [args, line] of cases) {
      const r = await runCli(args, { stateDir });
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr.split('\n')[0]).toBe(line);
    }
    expect(await store.readChanges('upgrade-demo', id)).toEqual(before);
    await store.close();
  });

  it('refuses a phase in progress, naming plan cancel', async () => {
    const { stateDir, store, id, ids, lease } = await demoOperation();
    const held = await lease();
    await store.appendChange(
      'upgrade-demo',
      id,
      { phase: ids[0]!, state: 'in_progress', action: 'execute', at: new Date().toISOString() },
      held,
    );
    await held.release();
    const r = await runCli(['plan', 'set', '--phase', ids[0]!, '--state', 'completed', '--reason', 'x', ...INVENTORY], { stateDir });
    expect(r.code).toBe(4);
    expect(r.stderr).toContain(`hoist plan cancel --phase ${ids[0]}`);
    await store.close();
  });
});

describe('fsm › execute --force of a completed leaf', () => {
  it('runs it again and says so; without --force it says there is nothing to do', async () => {
    const { registry, calls } = recordingRegistry();
    const h = await harness(plan([leaf('/a')]), registry);
    await (await h.make()).execute('/a');
    await (await h.make()).execute('/a');
    expect(h.lines).toContain('Phase "/a" is already completed: nothing to do (--force runs it again)');
    expect(calls.filter((c) => c === 'execute /a')).toHaveLength(1);
    await (await h.make()).execute('/a', { force: true });
    expect(h.lines).toContain('Phase "/a" is completed; running it again because of --force');
    expect(calls.filter((c) => c === 'execute /a')).toHaveLength(2);
    expect(h.history()).toEqual(['/a in_progress', '/a completed', '/a in_progress', '/a completed']);
  });
});
