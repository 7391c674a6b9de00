/**
 * An app's update hook Job that fails during an automatic upgrade: the upgrade stops with exit 6
 * at that phase and says what to do next; once the hook is fixed in the image's source
 * directory, `hoist plan resume` reads the image again from there and finishes.
 */
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectExit, IMAGE_2, leaves, phaseMap, RUNTIME_2, type Sandbox, sandboxUp } from './helpers.js';

const HOOK = 'packages/logging-app-6.0.8/jobs/update.yaml';
const PHASE = '/runtime/logging-app';

async function setOutcome(image: string, outcome: 'Complete' | 'Failed'): Promise<void> {
  const file = path.join(image, HOOK);
  const text = await fs.readFile(file, 'utf8');
  const next = text.replace(/sandbox\.hoist\/outcome: \w+/, `sandbox.hoist/outcome: ${outcome}`);
  expect(next).toContain(`sandbox.hoist/outcome: ${outcome}`);
  await fs.writeFile(file, next);
}

describe('kube-side › a failing hook Job, fixed and resumed', () => {
  let sb: Sandbox;
  let work: string;
  let image: string;

  beforeAll(async () => {
    work = await fs.mkdtemp(path.join(os.tmpdir(), 'hoist-kube-side-image-'));
    image = path.join(work, 'upgrade-demo-2.0.0');
    await fs.cp(IMAGE_2, image, { recursive: true });
    await setOutcome(image, 'Failed');
    sb = await sandboxUp({ firstAddress: '127.0.24.2' });
  });

  afterAll(async () => {
    await sb?.down();
    await fs.rm(work, { recursive: true, force: true });
  });

  it('hoist upgrade stops at the failed hook with exit 6 and names the next commands', { timeout: 300_000 }, async () => {
    const run = await sb.hoist(['upgrade', image]);
    expect(run.exitCode, run.stderr).toBe(6);
    expect(run.stderr).toContain('logging-app-update');
    expect(run.stderr).toContain('"hoist plan"');
    expect(run.stderr).toContain('"hoist plan resume"');
    expect(run.stderr).toContain('"hoist rollback --dry-run"');
    expect(run.stderr).not.toContain('Shutting down the agents');

    const plan = await sb.plan();
    expect(plan.operation).toMatchObject({ state: 'in_progress', mode: 'automatic', source: image });
    const phases = phaseMap(plan.phases);
    const failed = phases.get(PHASE)!;
    expect(failed.state).toBe('failed');
    expect(failed.error?.message).toContain('logging-app-update');
    expect(phases.get('/runtime/dns-app')!.state).toBe('completed');
    expect(phases.get('/masters')!.state).toBe('completed');
    // Nothing after the failed phase ran.
    const all = leaves(plan.phases);
    const at = all.findIndex((p) => p.id === PHASE);
    expect(
      all
        .slice(at + 1)
        .filter((p) => p.state !== 'unstarted')
        .map((p) => p.id),
    ).toEqual([]);
    expect(all.filter((p) => p.state === 'failed').map((p) => p.id)).toEqual([PHASE]);
  });

  it('the cluster is still updating at 1.0.0 and the agents stay for the resume', async () => {
    const status = JSON.parse((await sb.hoist(['status', '-o', 'json'])).stdout) as Record<string, unknown>;
    expect(status).toMatchObject({
      status: 'updating',
      installedVersion: '1.0.0',
      activeOperation: { state: 'in_progress', progress: { failed: 1 } },
    });
    expectExit(await sb.hoist(['agent', 'status']), 0, 'hoist agent status');
  });

  it('after fixing the hook in the image source, plan resume finishes the upgrade', { timeout: 300_000 }, async () => {
    await setOutcome(image, 'Complete');
    const run = await sb.hoist(['plan', 'resume']);
    expectExit(run, 0, 'hoist plan resume');
    expect(run.stderr).toContain(`Executing "${PHASE}" on node-1`);
    expect(run.stderr).not.toContain('Executing "/runtime/dns-app"');
    const plan = await sb.plan();
    expect(
      leaves(plan.phases)
        .filter((p) => p.state !== 'completed')
        .map((p) => `${p.id} ${p.state}`),
    ).toEqual([]);
  });

  it('plan complete leaves the cluster active at 2.0.0', async () => {
    expectExit(await sb.hoist(['plan', 'complete']), 0, 'hoist plan complete');
    const status = JSON.parse((await sb.hoist(['status', '-o', 'json'])).stdout) as Record<string, unknown>;
    expect(status).toMatchObject({
      status: 'active',
      installedVersion: '2.0.0',
      activeOperation: null,
      lastOperation: { state: 'completed' },
    });
    for (const n of sb.nodes) expect((await sb.health(n.address)).version).toBe(RUNTIME_2);
  });
});
