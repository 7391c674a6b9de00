/**
 * On a real sandbox: `hoist status` reads the nodes live before any operation (through one-off
 * agent runs that leave nothing on the nodes), a node whose runtime service was killed shows as
 * degraded there and stops `hoist upgrade` (exit 4, naming the node and the probe), and
 * `upgrade --force` goes on and records the override in the operation; `status history` lists
 * the transition and the forced start.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectExit, IMAGE_2, type Sandbox, sandboxUp } from '../kube-side/helpers.js';
import { processes } from '../ssh/helpers.js';

interface StatusJson {
  installedVersion: string;
  activeOperation: { id: string; warnings?: string[] } | null;
  lastOperation: unknown;
  note?: string;
  health: { state: string; failures: { node: string; probe: string; message: string }[] };
  nodes: {
    name: string;
    role: string;
    agent: { state: string };
    runtime: { version: string; health: string };
    kube: { ready: boolean } | null;
    image: string;
    healthy: boolean;
  }[];
}

describe('operator view › status reads the nodes, the health gate refuses a degraded one', () => {
  let sb: Sandbox;
  const nodeDir = (name: string): string => join(sb.dir, 'nodes', name, 'var', 'lib', 'hoist');
  const status = async (): Promise<StatusJson> => {
    const r = await sb.hoist(['status', '-o', 'json']);
    expectExit(r, 0, 'status -o json');
    return JSON.parse(r.stdout) as StatusJson;
  };

  beforeAll(async () => {
    sb = await sandboxUp({ firstAddress: '127.0.120.2' });
  }, 300_000);

  afterAll(async () => {
    await sb?.down();
  });

  it('shows every node before any operation and leaves nothing on them', { timeout: 120_000 }, async () => {
    const text = await sb.hoist(['status']);
    expectExit(text, 0, 'status');
    expect(text.stdout).toContain('Cluster health:         healthy');
    expect(text.stdout).toContain('no operation has run on this cluster');
    expect(text.stdout).toMatch(/node-2\s+127\.0\.120\.3\s+master\s+not running\s+7\.0\.35-11706\s+healthy\s+Ready\s+-\s+1\.0\.0/);

    const doc = await status();
    expect(doc.health.failures).toEqual([]);
    expect(doc).toMatchObject({ installedVersion: '1.0.0', activeOperation: null, lastOperation: null, health: { state: 'healthy' } });
    expect(doc.nodes.map((n) => [n.name, n.agent.state, n.runtime.health, n.kube?.ready, n.image])).toEqual([
      ['node-1', 'none', 'healthy', true, '1.0.0'],
      ['node-2', 'none', 'healthy', true, '1.0.0'],
      ['node-3', 'none', 'healthy', true, '1.0.0'],
    ]);
    // The one-off runs removed their bundles, and no agent was started or installed.
    expect(readdirSync('/tmp').filter((f) => f.startsWith('hoist-once.'))).toEqual([]);
    for (const n of sb.nodes) expect(existsSync(join(nodeDir(n.name), 'agent', 'hoist-agent.mjs')), n.name).toBe(false);
    expect((await processes()).filter((p) => p.cmdline.includes(sb.stateDir) && p.cmdline.includes('hoist-agent'))).toEqual([]);
  });

  it('a stopped runtime shows as degraded and refuses the upgrade; --force records the override', { timeout: 300_000 }, async () => {
    const pid = Number(readFileSync(join(nodeDir('node-2'), 'runtime', 'service.pid'), 'utf8'));
    process.kill(pid, 'SIGKILL');

    const doc = await status();
    expect(doc.health.state).toBe('degraded');
    expect(doc.health.failures.map((f) => [f.node, f.probe])).toEqual([['node-2', 'runtime-health']]);
    expect(doc.nodes.find((n) => n.name === 'node-2')).toMatchObject({ healthy: false, runtime: { health: 'unhealthy' } });
    const text = await sb.hoist(['status']);
    expect(text.stdout).toContain('Cluster health:         degraded (node-2: runtime-health)');
    expect(text.stdout).toContain('[node-2] runtime-health: ');

    const refused = await sb.hoist(['upgrade', '--manual', IMAGE_2]);
    expectExit(refused, 4, 'upgrade of a degraded cluster');
    expect(refused.stderr).toContain(
      'error[ERR_CLUSTER_DEGRADED]: upgrade is prohibited because some cluster nodes are currently degraded: node-2 (runtime-health)',
    );
    expect(refused.stderr).toContain('--force');
    const after = await status();
    expect(after.activeOperation).toBeNull();
    expect(after.lastOperation).toBeNull();

    const forced = await sb.hoist(['upgrade', '--manual', '--force', IMAGE_2]);
    expectExit(forced, 0, 'upgrade --force');
    expect(forced.stderr).toContain('warning: upgrade forced past a degraded node: node-2: runtime-health: ');
    const active = (await status()).activeOperation!;
    expect(active.warnings).toHaveLength(1);
    expect(active.warnings![0]).toContain('node-2: runtime-health');
    const stored = JSON.parse(
      readFileSync(join(sb.stateDir, 'clusters', 'upgrade-demo', 'operations', active.id, 'operation.json'), 'utf8'),
    );
    expect(stored.warnings).toEqual(active.warnings);

    // The history saw the node go degraded once (status and the gate agree), then the forced start.
    const history = await sb.hoist(['status', 'history']);
    expectExit(history, 0, 'status history');
    expect(history.stdout).toMatch(/\[Node Degraded\] node=node-2 probe=runtime-health "runtime hook health failed: /);
    const events = JSON.parse((await sb.hoist(['status', 'history', '-o', 'json'])).stdout) as {
      events: { type: string; operation?: string }[];
    };
    expect(events.events.map((e) => e.type)).toEqual(['node.degraded', 'operation.started', 'override']);
    expect(events.events[2]!.operation).toBe(active.id);
  });
});
