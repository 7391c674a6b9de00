import { describe, expect, it } from 'vitest';
import { renderPlanTable } from '../../../src/cli/render/plan-table.js';
import { HoistError, PhaseFailedError } from '../../../src/errors.js';
import { ExecutorRegistry } from '../../../src/fsm/executor.js';
import { resolvePlan } from '../../../src/plan/resolve.js';
import { harness } from '../../helpers/engine-harness.js';
import { leaf, plan } from '../../helpers/plan-dsl.js';

const failing = (fail: (output: (d: string) => void) => never) =>
  new ExecutorRegistry().register('test', () => ({
    async execute(ctx) {
      fail((d) => ctx.output?.(d));
    },
    async rollback() {},
  }));

describe('fsm › the output of a failed phase', () => {
  it('keeps the last 20 lines the work printed, under the error and in the changelog', async () => {
    const registry = failing((out) => {
      out('line 1\nline 2\n');
      for (let i = 3; i <= 29; i++) out(`line ${i}\n`);
      out('line 3');
      out('0 partial');
      throw new Error('hook exited with code 1');
    });
    const h = await harness(plan([leaf('/a')]), registry);
    const err = await (await h.make()).execute('/a').catch((e: unknown) => e);
    const lines = Array.from({ length: 19 }, (_, i) => `line ${i + 11}`).concat('line 30 partial');
    expect(HoistError.isHoistError(err) && err.details).toEqual(lines);
    const change = h.store.changes.get('op-1')!.at(-1)!;
    expect(change.error).toEqual({ code: 'ERR_UNEXPECTED', message: 'hook exited with code 1', output: lines });
    const table = renderPlanTable(resolvePlan(plan([leaf('/a')]), h.store.changes.get('op-1')!));
    expect(table).toContain('has failed\n\thook exited with code 1\n\t  line 11\n');
    expect(table).toContain('\t  line 30 partial\n');
  });

  it("prefers the error's own lines (a hook Job's log) and records none when there are none", async () => {
    const withLog = await harness(
      plan([leaf('/a')]),
      failing(() => {
        throw new PhaseFailedError('ERR_HOOK_JOB_FAILED', 'hook job failed', { details: ['log: it broke'] });
      }),
    );
    const err = await (await withLog.make()).execute('/a').catch((e: unknown) => e);
    expect(HoistError.isHoistError(err) && err.details).toEqual(['log: it broke']);
    expect(withLog.store.changes.get('op-1')!.at(-1)!.error!.output).toEqual(['log: it broke']);

    const silent = await harness(
      plan([leaf('/a')]),
      failing(() => {
        throw new Error('no output');
      }),
    );
    await (await silent.make()).execute('/a').catch(() => undefined);
    expect(silent.store.changes.get('op-1')!.at(-1)!.error).toEqual({ code: 'ERR_UNEXPECTED', message: 'no output' });
  });
});
