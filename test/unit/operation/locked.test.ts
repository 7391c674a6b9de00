/**
 * Records are read inside the lock: through the CLI in-process (offline: --state plans and
 * completes without nodes).
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { beforeEach, describe, expect, it } from 'vitest';
import { JsonStore } from '../../../src/store/json-store.js';
import { runCli } from '../../helpers/run-cli.js';

const STATE = 'fixtures/clusters/demo-3-masters/state.yaml';
const V2 = 'fixtures/images/upgrade-demo-2.0.0';
let stateDir: string;
beforeEach(() => {
  stateDir = mkdtempSync(join(tmpdir(), 'hoist-records-'));
});
const cli = (...args: string[]) => runCli(args, { stateDir });

describe('operation › records read under the lock', { timeout: 60_000 }, () => {
  it('a rollback waiting at its prompt does not undo an operation another command closed meanwhile', async () => {
    const id = (JSON.parse((await cli('upgrade', '--manual', '--state', STATE, V2, '-o', 'json')).stdout) as { id: string }).id;
    const terminal = new PassThrough();
    let prompted = false;
    const rollback = runCli(['rollback', '--state', STATE], {
      stateDir,
      interactive: true,
      stdin: terminal,
      onStderr: (all) => (prompted = all.includes('Proceed? (yes/no):')),
    });
    // Once the prompt is up (the record was read), another command closes the operation.
    while (!prompted) await sleep(10);
    const store = new JsonStore(stateDir);
    const complete = await cli('plan', 'complete', '--state', STATE);
    expect(complete.code).toBe(0);
    const closed = await store.getOperation('upgrade-demo', id);
    expect(closed).toMatchObject({ state: 'failed', reason: 'completed manually' });
    terminal.end('yes\n');
    const r = await rollback;
    expect(r.stderr).toContain('Proceed? (yes/no):');
    expect(r.code).toBe(4);
    expect(r.stderr).toContain('ERR_OPERATION_CHANGED');
    expect(r.stderr).toContain(`operation ${id} changed while this command waited for the cluster lock: it is failed`);
    // The closed record is untouched: not rewritten as "rolled back".
    expect(await store.getOperation('upgrade-demo', id)).toEqual(closed);
    await store.close();
  });
});
