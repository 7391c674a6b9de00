import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { leaves } from '../../../src/plan/query.js';
import { JsonStore } from '../../../src/store/json-store.js';
import { runCli } from '../../helpers/run-cli.js';

const STATE = 'fixtures/clusters/demo-3-masters/state.yaml';
const V2 = 'fixtures/images/upgrade-demo-2.0.0';

async function withOperation() {
  const stateDir = mkdtempSync(join(tmpdir(), 'hoist-tail-'));
  const created = await runCli(['upgrade', '--manual', '--state', STATE, V2, '-o', 'json'], { stateDir });
  const id = (JSON.parse(created.stdout) as { id: string }).id;
  const store = new JsonStore(stateDir);
  const ids = leaves((await store.getPlan('upgrade-demo', id)).phases).map((p) => p.id);
  return { stateDir, id, store, ids };
}

describe('cli › report', () => {
  it('archives the cluster record and the operation files', async () => {
    const { stateDir, id, store } = await withOperation();
    const file = join(stateDir, 'r.tar.gz');
    const r = await runCli(['report', '--file', file, '--state', STATE, '-o', 'json'], { stateDir });
    expect(r.code).toBe(0);
    const files = (JSON.parse(r.stdout) as { files: string[] }).files;
    expect(files).toEqual(['upgrade-demo/cluster.json', ...['operation.json', 'plan.json', 'changelog.ndjson', 'log.ndjson'].map((f) => `upgrade-demo/operations/${id}/${f}`)]);
    const { t } = await import('tar');
    const listed: string[] = [];
    await t({ file, onReadEntry: (e) => listed.push(e.path) });
    expect(listed.sort()).toEqual([...files].sort());
    await store.close();
  });
});
