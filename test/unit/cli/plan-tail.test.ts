import { describe, expect, it } from 'vitest';
import { parseDuration } from '../../../src/cli/commands/shared.js';
import { DEMO_STATE, demoOperation } from '../../helpers/demo-operation.js';
import { runCli } from '../../helpers/run-cli.js';

const STATE = DEMO_STATE;

describe('cli › plan --tail', () => {
  it('prints every change with its leaf index and stops when the plan is completed', async () => {
    const { stateDir, store, id, ids, lease } = await demoOperation();
    const held = await lease();
    for (const phase of ids)
      await store.appendChange('upgrade-demo', id, { phase, state: 'completed', at: new Date().toISOString() }, held);
    await held.release();
    const r = await runCli(['plan', '--tail', '--state', STATE], { stateDir });
    expect(r.code).toBe(0);
    const lines = r.stdout.trim().split('\n');
    expect(lines).toHaveLength(ids.length + 1);
    // Stamped like the other progress lines (`Thu Mar  4 04:09:57 UTC`).
    expect(lines[0]).toMatch(/^[A-Z][a-z]{2} [A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d UTC\t\[ 1\/49\] Phase \/init\/node-1 is completed$/);
    expect(lines.at(-1)).toBe('Operation plan is completed');
    await store.close();
  });

  it('exits 6 with the error of a failed phase', async () => {
    const { stateDir, store, id, lease } = await demoOperation();
    const held = await lease();
    await store.appendChange(
      'upgrade-demo',
      id,
      { phase: '/init/node-2', state: 'failed', at: new Date().toISOString(), error: { code: 'ERR_X', message: 'disk on fire' } },
      held,
    );
    await held.release();
    const r = await runCli(['plan', '-f', '--state', STATE], { stateDir });
    expect(r.code).toBe(6);
    expect(r.stdout).toContain('[ 2/49] Phase /init/node-2 is failed');
    expect(r.stderr).toContain('error[ERR_X]: phase "/init/node-2" failed: disk on fire');
    await store.close();
  });
});

describe('cli › durations', () => {
  it('reads 90s, 30m, 1h and plain seconds, and refuses the rest as usage errors', () => {
    expect(parseDuration('--drain-timeout', '90s')).toBe(90_000);
    expect(parseDuration('--drain-timeout', '30m')).toBe(1_800_000);
    expect(parseDuration('--drain-timeout', '1h')).toBe(3_600_000);
    expect(parseDuration('--drain-timeout', '45')).toBe(45_000);
    expect(() => parseDuration('--drain-timeout', 'soon')).toThrow('--drain-timeout must be a duration like 90s, 30m or 1h, got "soon"');
  });
});
