import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeEach, describe, expect, it } from 'vitest';
import { JsonStore } from '../../../src/store/json-store.js';
import { runCli } from '../../helpers/run-cli.js';

const STATE = 'fixtures/clusters/demo-3-masters/state.yaml';
const V2 = 'fixtures/images/upgrade-demo-2.0.0';
let stateDir: string;
beforeEach(() => {
  stateDir = mkdtempSync(join(tmpdir(), 'hoist-cli-'));
});
const cli = (...args: string[]) => runCli(args, { stateDir });

/** Records `phase` of the active operation as failed (or `state`), as a run on the nodes would (none runs under --state). */
async function recordFailed(phase: string, state: 'failed' | 'rolled_back' = 'failed'): Promise<void> {
  const store = new JsonStore(stateDir);
  const id = (await store.getCluster('upgrade-demo'))?.activeOperation;
  if (!id) throw new Error('no active operation');
  const lease = await store.lock('upgrade-demo', { host: 'test', pid: process.pid, command: 'test' });
  const error = { code: 'ERR_TEST', message: 'failed on the node' };
  const at = new Date().toISOString();
  await store.appendChange(
    'upgrade-demo',
    id,
    state === 'failed' ? { phase, state, action: 'execute', at, error } : { phase, state, action: 'rollback', at },
    lease,
  );
  await lease.release();
  await store.close();
}

describe('cli › upgrade --dry-run', () => {
  it('prints the seed plan table and writes nothing', async () => {
    const r = await cli('upgrade', '--dry-run', '--state', STATE, V2);
    expect(r.code).toBe(0);
    const lines = r.stdout.split('\n');
    expect(lines[0]).toMatch(/^Phase {25}Description {45}State {9}Node {10}Requires {32}Updated$/);
    expect(lines).toContain(
      '    * kubelet-permissions     Add permissions to kubelet on "node-1"                  Unstarted     127.0.0.2     -                                       -',
    );
    expect(r.stdout).toContain('  * kubernetes                Update system application "kubernetes" to 7.0.30');
    expect(readdirSync(stateDir)).toEqual([]);
  });

  it('prints the plan as JSON with -o json', async () => {
    const r = await cli('upgrade', '--dry-run', '--state', STATE, V2, '-o', 'json');
    expect(r.code).toBe(0);
    const doc = JSON.parse(r.stdout) as { phases: { id: string; requires: string[]; phases: unknown[] }[] };
    expect(doc.phases.map((p) => p.id)).toEqual([
      '/init',
      '/checks',
      '/pre-update',
      '/bootstrap',
      '/coredns',
      '/masters',
      '/config',
      '/runtime',
      '/migration',
      '/app',
      '/gc',
    ]);
    expect(doc.phases[2]!.requires).toEqual(['/init', '/checks']);
  });

  it('refuses an image that is not newer, with exit 3 and the reason', async () => {
    const r = await cli('upgrade', '--dry-run', '--state', 'fixtures/clusters/installed-2.0.0/state.yaml', V2);
    expect(r.code).toBe(3);
    expect(r.stderr).toContain('update version (2.0.0) must be greater than the currently installed version (2.0.0)');
  });

  it('reports every problem of a bad input file, one per line, with exit 3', async () => {
    const r = await cli('upgrade', '--dry-run', '--state', 'fixtures/invalid/bad-state-refs/unknown-leader.state.yaml', V2);
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/^error\[ERR_INPUT_INVALID\]: .*unknown-leader\.state\.yaml: 1 problem/m);
    expect(r.stderr).toMatch(/unknown-leader\.state\.yaml:\d+: leader: /);
  });
});

describe('cli › manual operation lifecycle', () => {
  it('creates the operation (-o json for CI), locks the cluster and refuses a second one', async () => {
    const r = await cli('upgrade', '--manual', '--state', STATE, V2, '-o', 'json');
    expect(r.code).toBe(0);
    const op = JSON.parse(r.stdout) as Record<string, string>;
    expect(op).toMatchObject({ cluster: 'upgrade-demo', from: '1.0.0', to: '2.0.0', state: 'in_progress', mode: 'manual' });
    expect(op.id).toMatch(/^[0-9a-f-]{36}$/);
    expect(r.stderr).toContain('Upgrading cluster from 1.0.0 to 2.0.0');

    const s = JSON.parse((await cli('status', '--state', STATE, '-o', 'json')).stdout) as Record<string, unknown>;
    expect(s).toMatchObject({
      cluster: 'upgrade-demo',
      status: 'updating',
      installedVersion: '1.0.0',
      activeOperation: { id: op.id, progress: { total: 49, completed: 0 } },
    });

    const again = await cli('upgrade', '--manual', '--state', STATE, V2);
    expect(again.code).toBe(4);
    expect(again.stderr).toContain(`cluster "upgrade-demo" is currently updating (operation ${op.id})`);
  });

  it('refuses plan execute, rollback and resume under --state as a usage error before anything is recorded', async () => {
    await cli('upgrade', '--manual', '--state', STATE, V2);
    const opDir = join(stateDir, 'clusters/upgrade-demo/operations', readdirSync(join(stateDir, 'clusters/upgrade-demo/operations'))[0]!);
    const lock = readFileSync(join(stateDir, 'clusters/upgrade-demo/lock'), 'utf8');
    for (const args of [['execute', '--phase', '/init/node-1'], ['rollback', '--phase', '/init/node-1'], ['resume']]) {
      const r = await cli('plan', ...args, '--state', STATE);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr).toContain(`error[ERR_USAGE_OFFLINE]: "hoist plan ${args[0]}" runs phases on the nodes, but --state plans offline`);
    }
    expect(readFileSync(join(opDir, 'changelog.ndjson'), 'utf8')).toBe('');
    // Not even the lease was taken.
    expect(readFileSync(join(stateDir, 'clusters/upgrade-demo/lock'), 'utf8')).toBe(lock);
  });

  it('checks --phase against the plan before taking the lease, and refuses -c with --state', async () => {
    await cli('upgrade', '--manual', '--state', STATE, V2);
    const lock = readFileSync(join(stateDir, 'clusters/upgrade-demo/lock'), 'utf8');
    const missing = await cli('plan', 'cancel', '--phase', '/nope', '--state', STATE);
    expect(missing.code).toBe(4);
    expect(missing.stderr).toContain('error[ERR_PHASE_NOT_FOUND]: phase "/nope" not found in the plan of operation');
    expect(readFileSync(join(stateDir, 'clusters/upgrade-demo/lock'), 'utf8')).toBe(lock);
    const both = await cli('plan', '-c', 'fixtures/clusters/demo-3-masters/cluster.yaml', '--state', STATE);
    expect(both.code).toBe(2);
    expect(both.stderr).toContain('error[ERR_USAGE_STATE_AND_CLUSTER]');
    const badId = await cli('plan', '--operation-id', '../x', '--state', STATE);
    expect(badId.code).toBe(2);
    expect(badId.stderr).toContain('error[ERR_USAGE_OPERATION_ID]: --operation-id "../x" is not an operation id');
    const badTimeout = await cli('--drain-timeout', '5x', 'plan', 'complete', '--state', STATE);
    expect(badTimeout.code).toBe(2);
    expect(readFileSync(join(stateDir, 'clusters/upgrade-demo/lock'), 'utf8')).toBe(lock);
  });

  it('plan complete refuses a half-done plan, and closes it once rolled back', async () => {
    await cli('upgrade', '--manual', '--state', STATE, V2);
    await recordFailed('/init/node-1');
    const refused = await cli('plan', 'complete', '--state', STATE);
    expect(refused.code).toBe(4);
    expect(refused.stderr).toContain('ERR_PLAN_PARTLY_APPLIED');
    await recordFailed('/init/node-1', 'rolled_back');
    const done = await cli('plan', 'complete', '--state', STATE, '-o', 'json');
    expect(done.code).toBe(0);
    expect(JSON.parse(done.stdout)).toEqual({
      operation: expect.any(String),
      state: 'failed',
      cluster: 'upgrade-demo',
      status: 'active',
      installedVersion: '1.0.0',
    });
    const s = JSON.parse((await cli('status', '--state', STATE, '-o', 'json')).stdout) as Record<string, unknown>;
    expect(s).toMatchObject({ status: 'active', activeOperation: null, lastOperation: { state: 'failed' } });
  });

  it('rollback: --dry-run lists, no --confirm without a terminal is refused (exit 2), --confirm rolls back and closes', async () => {
    await cli('upgrade', '--manual', '--state', STATE, V2);
    await recordFailed('/init/node-1');
    const dry = await cli('rollback', '--dry-run', '--state', STATE);
    expect(dry.code).toBe(0);
    expect(dry.stderr).toContain('[DRY-RUN] Rolling back "/init/node-1" on node-1');
    const refused = await cli('rollback', '--state', STATE);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain('ERR_CONFIRM_REQUIRED');
    const ok = await cli('rollback', '--confirm', '--state', STATE, '-o', 'json');
    expect(ok.code).toBe(0);
    expect(JSON.parse(ok.stdout)).toMatchObject({ state: 'failed', rolledBack: ['/init/node-1'], installedVersion: '1.0.0' });
  });

  it('asks "Proceed? (yes/no)" on a terminal and does nothing on "no"', async () => {
    await cli('upgrade', '--manual', '--state', STATE, V2);
    await recordFailed('/init/node-1');
    const r = await runCli(['rollback', '--state', STATE], { stateDir, interactive: true, input: 'no\n' });
    expect(r.code).toBe(0);
    expect(r.stderr).toContain('Proceed? (yes/no):');
    expect(r.stderr).toContain('Rollback cancelled; nothing changed.');
    const s = JSON.parse((await cli('status', '--state', STATE, '-o', 'json')).stdout) as Record<string, unknown>;
    expect(s).toMatchObject({ status: 'updating' });
  });

  it('prints errors as one JSON object on stdout with --output json', async () => {
    const r = await cli('plan', 'complete', '--state', STATE, '-o', 'json');
    expect(r.code).toBe(4);
    expect(JSON.parse(r.stdout)).toEqual({
      error: { code: 'ERR_NO_ACTIVE_OPERATION', message: 'no active operation found for cluster "upgrade-demo"', hint: expect.any(String) },
    });
  });
});

describe('cli › usage', () => {
  it('exits 2 on an unknown option and 0 on --help', async () => {
    expect((await cli('plan', '--bogus')).code).toBe(2);
    const help = await cli('plan', 'execute', '--help');
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('--phase <id>');
  });

  it('exits 2 for a relative phase id', async () => {
    await cli('upgrade', '--manual', '--state', STATE, V2);
    const r = await cli('plan', 'cancel', '--phase', 'init', '--state', STATE);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('did you mean /init?');
  });
});

describe('cli › dry run, machine-readable', () => {
  it('says for every leaf what its executor would do', async () => {
    const r = await cli('upgrade', '--dry-run', '--state', STATE, V2, '-o', 'json');
    type P = { id: string; does?: string; phases: P[] };
    const leaves: P[] = [];
    const walk = (list: P[]): void => {
      for (const p of list) {
        if (p.phases.length) walk(p.phases);
        else leaves.push(p);
      }
    };
    walk((JSON.parse(r.stdout) as { phases: P[] }).phases);
    expect(leaves).toHaveLength(49);
    expect(leaves.filter((p) => !p.does).map((p) => p.id)).toEqual([]);
    expect(leaves.find((p) => p.id === '/masters/node-1/elect')?.does).toBe(
      'set election flags in etcd: enable node-1; disable node-2, node-3',
    );
  });
});

describe('cli › the next step after a manual upgrade', () => {
  it("names the plan's own first phase: /checks for an app-only upgrade, /init otherwise", async () => {
    const { manualNextStep } = await import('../../../src/cli/commands/upgrade.js');
    const first = async (state: string, image: string) => {
      const r = await runCli(['upgrade', '--dry-run', '--state', state, image, '-o', 'json'], {
        stateDir: mkdtempSync(join(tmpdir(), 'hoist-next-')),
      });
      return manualNextStep(JSON.parse(r.stdout) as Parameters<typeof manualNextStep>[0]);
    };
    expect(await first('fixtures/clusters/installed-2.0.0/state.yaml', 'fixtures/images/upgrade-demo-2.0.1')).toContain('--phase /checks"');
    expect(await first(STATE, V2)).toContain('--phase /init"');
  });
});
