import { existsSync, promises as fs } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { startTestAgent, type TestAgent } from './harness.js';

let t: TestAgent | undefined;
afterEach(async () => {
  await t?.cleanup();
  t = undefined;
});

const op = (id: string) => ({ id, cluster: 'demo', from: '1.0.0', to: '2.0.0', node: 'node-1', leader: true });

describe('agent › operation actions', () => {
  it('init records the operation and removes leftovers of earlier operations', async () => {
    t = await startTestAgent();
    const client = await t.client();
    await client.run('operation.init', { operation: op('old-op') });
    await fs.writeFile(path.join(t.stateDir, 'operations', 'old-op', 'scratch', 'x'), 'left over');
    const result = await client.run<{ dir: string; removed: string[] }>('operation.init', { operation: op('new-op') });
    expect(result.removed).toEqual([path.join(t.stateDir, 'operations', 'old-op')]);
    expect(existsSync(path.join(t.stateDir, 'operations', 'old-op'))).toBe(false);
    const recorded = JSON.parse(await fs.readFile(path.join(result.dir, 'operation.json'), 'utf8')) as Record<string, unknown>;
    expect(recorded).toMatchObject({ id: 'new-op', cluster: 'demo', from: '1.0.0', to: '2.0.0', node: 'node-1' });
  });

  it('remove forgets the operation; running it twice is harmless', async () => {
    t = await startTestAgent();
    const client = await t.client();
    await client.run('operation.init', { operation: op('op-1') });
    expect(await client.run('operation.remove', { operationId: 'op-1' })).toEqual({ removed: true });
    expect(await client.run('operation.remove', { operationId: 'op-1' })).toEqual({ removed: false });
    expect(existsSync(path.join(t.stateDir, 'operations', 'op-1'))).toBe(false);
  });

  it('gc removes the scratch dir and a leftover disk-check file, and keeps the record', async () => {
    t = await startTestAgent();
    const client = await t.client();
    await client.run('operation.init', { operation: op('op-1') });
    await fs.writeFile(path.join(t.stateDir, 'hoist-testfile'), 'x');
    const result = await client.run<{ removed: string[] }>('operation.gc', { operationId: 'op-1' });
    expect(result.removed.sort()).toEqual(
      [path.join(t.stateDir, 'hoist-testfile'), path.join(t.stateDir, 'operations', 'op-1', 'scratch')].sort(),
    );
    const rec = JSON.parse(await fs.readFile(path.join(t.stateDir, 'operations', 'op-1', 'operation.json'), 'utf8')) as Record<
      string,
      unknown
    >;
    expect(rec.collected).toEqual(expect.any(String));
  });

  it('refuses an operation id that would escape the state dir', async () => {
    t = await startTestAgent();
    const client = await t.client();
    await expect(client.run('operation.remove', { operationId: '../../etc' })).rejects.toMatchObject({ code: 'ERR_AGENT_BAD_PARAMS' });
  });
});
