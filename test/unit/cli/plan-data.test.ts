import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DEMO_STATE, demoOperation } from '../../helpers/demo-operation.js';
import { runCli } from '../../helpers/run-cli.js';

describe('cli › a stored plan whose phase data drifted', () => {
  it('is refused with exit 4, naming the file and phase, and the store is left as it was', { timeout: 30_000 }, async () => {
    const { stateDir, store, id } = await demoOperation();
    await store.close();
    const file = join(stateDir, 'clusters/upgrade-demo/operations', id, 'plan.json');
    const plan = readFileSync(file, 'utf8');
    // /masters/node-1/system-upgrade is the first phase with a "to" key; renaming it is what a drifted builder leaves.
    const drifted = plan.replace(/("id": "\/masters\/node-1\/system-upgrade"[\s\S]*?)"to":/, '$1"target":');
    expect(drifted).not.toBe(plan);
    writeFileSync(file, drifted);
    const changelog = readFileSync(join(file, '../changelog.ndjson'), 'utf8');

    const r = await runCli(['plan', 'complete', '--state', DEMO_STATE], { stateDir });
    expect(r.code).toBe(4);
    expect(r.stderr).toContain('error[ERR_STORE_PLAN_DATA]');
    expect(r.stderr).toContain(file);
    expect(r.stderr).toContain('phase /masters/node-1/system-upgrade');
    expect(r.stderr).toContain('data.to');
    expect(r.stderr).toMatch(/hint: .*backup/);
    expect(readFileSync(join(file, '../changelog.ndjson'), 'utf8')).toBe(changelog);
    expect(readFileSync(file, 'utf8')).toBe(drifted);
  });
});
