/**
 * (Run with `npm run test:upgrade-kinds`: whole upgrades take minutes.)
 * Per-node actions of a runtime upgrade on the sandbox: an image whose pre-upgrade action fails
 * stops at the first node with the action's output in the phase error, before anything touched
 * the node; an image whose actions pass runs them once per node, pre before post, with their
 * output in the operation log.
 */
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectExit, IMAGE_2, leaves, RUNTIME_1, RUNTIME_2, type Sandbox, sandboxUp } from '../kube-side/helpers.js';

// Each action appends one line to a file in the node's state dir, so the test can count them.
const RECORD = (stage: string) => `echo "${stage} $HOIST_PHASE_ID" >> "$HOIST_STATE_DIR/node-actions.log"; echo "${stage}-output-marker"`;
const PASSING = `
  nodeActions:
    preUpgrade:
      - { name: stop-app, run: '${RECORD('pre')}', timeoutSeconds: 30 }
    postUpgrade:
      - { name: start-app, run: '${RECORD('post')}' }
      - { name: runtime-health, package: "runtime:7.0.56-11709", hook: health }
`;
const FAILING = `
  nodeActions:
    preUpgrade:
      - { name: stop-app, run: 'echo "stopping app"; echo "app refuses to stop: busy" >&2; exit 3' }
`;

async function imageWith(actions: string): Promise<string> {
  const dir = path.join(await fs.mkdtemp(path.join(os.tmpdir(), 'hoist-actions-')), 'image');
  await fs.cp(IMAGE_2, dir, { recursive: true });
  await fs.appendFile(path.join(dir, 'app.yaml'), actions);
  return dir;
}

describe('upgrade kinds › per-node actions of a runtime upgrade', () => {
  let sb: Sandbox;
  const images: string[] = [];
  const actionLog = (node: string) => path.join(sb.dir, 'nodes', node, 'var', 'lib', 'hoist', 'node-actions.log');

  beforeAll(async () => {
    sb = await sandboxUp({ firstAddress: '127.0.101.2', masters: 1, workers: 1 });
  });

  afterAll(async () => {
    await sb?.down();
    for (const image of images) await fs.rm(path.dirname(image), { recursive: true, force: true });
  });

  it('a failing pre-upgrade action fails its phase with the output tail, before the node is drained', async () => {
    const image = await imageWith(FAILING);
    images.push(image);
    const run = await sb.hoist(['upgrade', image]);
    expect(run.exitCode).toBe(6);
    const plan = await sb.plan();
    const states = new Map(leaves(plan.phases).map((p) => [p.id, p]));
    const failed = states.get('/masters/node-1/pre-actions')!;
    expect(failed.state).toBe('failed');
    expect(failed.error?.code).toBe('ERR_NODE_ACTION_FAILED');
    expect(failed.error?.message).toContain('pre-upgrade action "stop-app" on node-1 failed');
    expect(failed.error?.message).toContain('app refuses to stop: busy');
    expect(states.get('/masters/node-1/drain')!.state).toBe('unstarted');
    expect((await sb.kubeNodes()).find((n) => n.metadata.name === 'node-1')!.spec.unschedulable).toBeFalsy();
    expect((await sb.health(sb.nodes[0]!.address)).version).toBe(RUNTIME_1);
    expectExit(await sb.hoist(['rollback', '--confirm']), 0, 'hoist rollback --confirm');
  });

  it('passing actions run once per node, pre before post, with their output in the operation log', async () => {
    const image = await imageWith(PASSING);
    images.push(image);
    const run = await sb.hoist(['upgrade', image]);
    expectExit(run, 0, 'hoist upgrade');
    for (const n of sb.nodes) {
      const group = n.role === 'master' ? 'masters' : 'workers';
      const lines = (await fs.readFile(actionLog(n.name), 'utf8')).trim().split('\n');
      expect(lines).toEqual([`pre /${group}/${n.name}/pre-actions`, `post /${group}/${n.name}/post-actions`]);
      expect((await sb.health(n.address)).version).toBe(RUNTIME_2);
    }
    // The output is in the operation log under each node's own phase (the file above counts the runs).
    const log = await sb.operationLog((await sb.plan()).operation.id);
    for (const n of sb.nodes) {
      const group = n.role === 'master' ? 'masters' : 'workers';
      for (const stage of ['pre', 'post']) {
        const phase = `/${group}/${n.name}/${stage}-actions`;
        expect(
          log.some((l) => l.phase === phase && (l.msg ?? '').includes(`${stage}-output-marker`)),
          phase,
        ).toBe(true);
      }
    }
  });
});
