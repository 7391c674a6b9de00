import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ClusterAgents } from '../../../src/cluster/agents.js';
import { isLocalAddress, type NodeSettings } from '../../../src/cluster/inventory.js';
import type { SshPool } from '../../../src/ssh/pool.js';

const node = (name: string, stateDir: string): NodeSettings => ({
  name,
  address: '10.1.2.3',
  role: 'master',
  nodeStateDir: stateDir,
  ssh: { user: 'root', port: 22 },
});

/** A pool that fails the test if anything tries to reach a node over SSH. */
const noSsh = {
  get: () => {
    throw new Error('a local node must not be reached over SSH');
  },
  closeAll: async () => undefined,
} as unknown as SshPool;

describe('cluster › the orchestrator’s own node', () => {
  it('runs actions in-process, says "locally", and never opens SSH', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'hoist-local-'));
    const agents = new ClusterAgents([node('node-1', dir)], noSsh, { version: '9.9.9', isLocal: () => true });
    expect(agents.where('node-1')).toBe('locally');
    const op = { id: 'op-1', cluster: 'demo', from: '1.0.0', to: '2.0.0', node: 'node-1', leader: true };
    await agents.run('node-1', 'operation.init', { operation: op });
    expect(existsSync(join(dir, 'operations', 'op-1', 'operation.json'))).toBe(true);
    expect((await agents.hello('node-1')).version).toBe('9.9.9');
  });

  it('names remote nodes "on <node>"', () => {
    const agents = new ClusterAgents([node('node-2', '/x')], noSsh, { version: '1', isLocal: () => false });
    expect(agents.where('node-2')).toBe('on node-2');
  });

  it('never counts a loopback address as this host (sandbox nodes are separate hosts)', () => {
    expect(isLocalAddress('127.0.0.2')).toBe(false);
    expect(isLocalAddress('127.0.0.1')).toBe(false);
  });
});
