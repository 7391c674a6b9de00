import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DEMO_STATE, demoOperation } from '../../helpers/demo-operation.js';
import { runCli } from '../../helpers/run-cli.js';

const STATE = DEMO_STATE;

describe('cli › report', () => {
  it('archives the cluster record and the operation files', async () => {
    const { stateDir, id, store } = await demoOperation();
    const file = join(stateDir, 'r.tar.gz');
    const r = await runCli(['report', '--file', file, '--state', STATE, '-o', 'json'], { stateDir });
    expect(r.code).toBe(0);
    const files = (JSON.parse(r.stdout) as { files: string[] }).files;
    expect(files).toEqual([
      'upgrade-demo/cluster.json',
      ...['operation.json', 'plan.json', 'changelog.ndjson', 'log.ndjson'].map((f) => `upgrade-demo/operations/${id}/${f}`),
    ]);
    const { t } = await import('tar');
    const listed: string[] = [];
    await t({ file, onReadEntry: (e) => listed.push(e.path) });
    expect(listed.sort()).toEqual([...files].sort());
    await store.close();
  });
});
