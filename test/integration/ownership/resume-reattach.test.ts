/**
 * kill -9 of hoist while a runtime hook, then while a drain, runs on a node: `plan resume`
 * re-attaches to the execution still running instead of starting it again, and the operation
 * completes with every hook run exactly once (the hooks' own log lines), one drain, and a
 * changelog that names the executions. Real sandbox on 127.0.70.x; budgets never free themselves.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectExit, type Sandbox, sandboxUp } from '../kube-side/helpers.js';
import {
  changelog,
  countingImage,
  executionRecords,
  hoistBackground,
  hookRuns,
  kubectlDrains,
  releaseBudget,
  type SandboxNode,
  sandboxNodes,
  until,
} from './helpers.js';

const HOOK_PHASE = '/masters/node-2/system-upgrade';
const DRAIN = '/masters/node-3/drain';

describe('ownership › resume re-attaches after kill -9', { timeout: 900_000 }, () => {
  let sb: Sandbox;
  let nodes: SandboxNode[];
  let image: string;
  let operation: string;

  beforeAll(async () => {
    process.env.HOIST_SANDBOX_PDB_RELEASE_MS = 'never';
    try {
      sb = await sandboxUp({ firstAddress: '127.0.70.2' });
    } finally {
      delete process.env.HOIST_SANDBOX_PDB_RELEASE_MS;
    }
    nodes = await sandboxNodes(sb);
    image = await countingImage(sb);
  }, 300_000);

  afterAll(async () => {
    await sb?.down();
  }, 120_000);

  const node = (name: string): SandboxNode => nodes.find((n) => n.name === name)!;

  it('kill -9 while the start hook runs on node-2: resume re-attaches to it and it runs once', async () => {
    const hold = path.join(node('node-2').nodeStateDir, 'hold-start');
    await fs.writeFile(hold, '');
    const upgrade = hoistBackground(sb, ['upgrade', image]);
    await until(
      async () => (await hookRuns(node('node-2'))).some((l) => l.startsWith(`${HOOK_PHASE} start `)),
      'the held start hook',
      upgrade.stderr,
    );
    upgrade.child.kill('SIGKILL');
    await upgrade.child;
    operation = (await sb.plan()).operation.id;
    const hookExecution = (await hookRuns(node('node-2'))).find((l) => l.startsWith(`${HOOK_PHASE} start `))!.split(' ')[2]!;

    // The changelog names the running execution; the node still runs it (no result yet).
    const last = (await changelog(sb, operation)).filter((c) => c.phase === HOOK_PHASE).at(-1)!;
    expect(last.state).toBe('in_progress');
    expect(last.owner?.executions?.map((e) => e.id)).toContain(hookExecution);
    expect((await executionRecords(node('node-2'))).find((r) => r.id === hookExecution)?.result).toBeUndefined();

    const resume = hoistBackground(sb, ['plan', 'resume']);
    await until(
      () => resume.stderr().includes(`Re-attaching to execution ${hookExecution} of "${HOOK_PHASE}" on node-2`),
      're-attach',
      resume.stderr,
    );
    await fs.rm(hold);
    // On to the drain of node-3, which guarded-pdb holds open: kill -9 again while kubectl drains.
    await until(async () => (await kubectlDrains(sb, 'node-3')).length > 0, 'kubectl drain node-3', resume.stderr);
    await until(
      async () => ((await changelog(sb, operation)).filter((c) => c.phase === DRAIN).at(-1)?.owner?.executions?.length ?? 0) > 0,
      'the drain execution in the changelog',
      resume.stderr,
    );
    resume.child.kill('SIGKILL');
    await resume.child;
    const drains = await kubectlDrains(sb, 'node-3');
    expect(drains.length, 'the drain goes on on the node without hoist').toBeGreaterThan(0);

    const records = await executionRecords(node('node-2'));
    const starts = records.filter((r) => r.phaseId === HOOK_PHASE && r.action === 'exec.hook' && r.params.hook === 'start');
    expect(starts.map((r) => r.id)).toEqual([hookExecution]);
    expect(starts[0]!.result).toMatchObject({ ok: true });
  });

  it('kill -9 during the drain: resume re-attaches to kubectl, one drain, and the operation completes', async () => {
    const recorded = (await changelog(sb, operation))
      .filter((c) => c.phase === DRAIN)
      .at(-1)!
      .owner!.executions!.map((e) => e.id);
    const kubectlDrain = (await Promise.all(nodes.map(executionRecords)))
      .flat()
      .find((r) => r.phaseId === DRAIN && r.action === 'kube.run' && r.params.args?.[0] === 'drain')!;
    const drainExecution = kubectlDrain.id;
    // The changelog names the running kubectl drain, and it has no result yet.
    expect(recorded).toContain(drainExecution);
    expect(kubectlDrain.result).toBeUndefined();
    const resume = hoistBackground(sb, ['plan', 'resume']);
    await until(
      () => resume.stderr().includes(`Re-attaching to execution ${drainExecution} of "${DRAIN}"`),
      're-attach to the drain',
      resume.stderr,
    );
    await releaseBudget(sb);
    const r = await resume.child;
    expectExit({ exitCode: r.exitCode ?? -1, stdout: String(r.stdout), stderr: resume.stderr() }, 0, 'hoist plan resume');
    if ((await sb.plan()).operation.state === 'in_progress') expectExit(await sb.hoist(['plan', 'complete']), 0, 'hoist plan complete');
    expect(JSON.parse((await sb.hoist(['status', '-o', 'json'])).stdout)).toMatchObject({ status: 'active', installedVersion: '2.0.0' });

    // One kubectl drain of node-3 ran, on the lead master, and it finished.
    const all = (await Promise.all(nodes.map(executionRecords))).flat();
    const drainRuns = all.filter((r) => r.phaseId === DRAIN && r.action === 'kube.run' && r.params.args?.[0] === 'drain');
    expect(drainRuns.map((r) => r.id)).toEqual([drainExecution]);
    expect(drainRuns[0]!.result).toMatchObject({ ok: true });

    // Every hook ran exactly once per node and phase, by the hooks' own log.
    for (const n of nodes) {
      const runs = await hookRuns(n);
      expect(runs.length, `${n.name} ran hooks of the new runtime`).toBeGreaterThan(0);
      const counts = new Map<string, number>();
      for (const line of runs) {
        const key = line.split(' ').slice(0, 2).join(' ');
        counts.set(key, (counts.get(key) ?? 0) + 1);
      }
      expect(
        [...counts].filter(([, n2]) => n2 !== 1),
        `${n.name}: ${runs.join('\n')}`,
      ).toEqual([]);
    }
    // The changelog stayed strictly increasing (checked by changelog()) and ends with every phase completed.
    const leavesLeft = (await sb.plan()).phases.filter((p) => p.state !== 'completed').map((p) => p.id);
    expect(leavesLeft).toEqual([]);
    await changelog(sb, operation);
  });
});
