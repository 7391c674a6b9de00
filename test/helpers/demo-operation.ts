/** A manual demo operation created offline (--state) in a fresh state dir, with a store on it. */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { leaves } from '../../src/plan/query.js';
import { JsonStore } from '../../src/store/json-store.js';
import { runCli } from './run-cli.js';

export const DEMO_STATE = 'fixtures/clusters/demo-3-masters/state.yaml';
export const DEMO_V2 = 'fixtures/images/upgrade-demo-2.0.0';

/** Creates the operation through the CLI; returns its id, leaf ids and an open store (close it). */
export async function demoOperation() {
  const stateDir = mkdtempSync(join(tmpdir(), 'hoist-op-'));
  const created = await runCli(['upgrade', '--manual', '--state', DEMO_STATE, DEMO_V2, '-o', 'json'], { stateDir });
  const id = (JSON.parse(created.stdout) as { id: string }).id;
  const store = new JsonStore(stateDir);
  const ids = leaves((await store.getPlan('upgrade-demo', id)).phases).map((p) => p.id);
  /** Takes the cluster lease for writes of the test itself (release it before running a writing command). */
  const lease = () => store.lock('upgrade-demo', { host: 'test', pid: process.pid, command: 'test' });
  return { stateDir, id, store, ids, lease };
}
