/**
 * An app's update hook Job that fails during an automatic upgrade: the upgrade stops with exit 6
 * at that phase and says what to do next. The operation's image is pinned: a hook "fixed" by
 * editing the image's source directory is refused (exit 3) before anything runs, and with the
 * image put back `hoist plan resume` runs the same hook again and stops at it again; set completed
 * by hand (`hoist plan set`), the resume finishes, and the status history tells it all in order.
 */
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectExit, IMAGE_2, leaves, phaseMap, type Sandbox, sandboxUp } from './helpers.js';

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
    // The job's own log line is shown under the error and under "has failed" in hoist plan.
    expect(run.stderr).toContain('log: logging-app updated to 6.0.8');
    const table = await sb.hoist(['plan']);
    expect(table.stdout).toMatch(/has failed\n\t.*logging-app-update.*\n\t {2}log: logging-app updated to 6\.0\.8$/m);

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

  it('a hook fixed in the image source is refused: another image at the path (exit 3, ERR_IMAGE_CHANGED), nothing runs', {
    timeout: 300_000,
  }, async () => {
    const before = await sb.plan();
    await setOutcome(image, 'Complete');
    const run = await sb.hoist(['plan', 'resume']);
    expectExit(run, 3, 'hoist plan resume with a changed image');
    expect(run.stderr).toContain('error[ERR_IMAGE_CHANGED]');
    expect(run.stderr).not.toContain(`Executing "${PHASE}"`);
    expect((await sb.plan()).phases).toEqual(before.phases);
  });

  it('with the image put back, plan resume runs the same hook again and stops at it (exit 6); the cluster stays at 1.0.0', {
    timeout: 300_000,
  }, async () => {
    await setOutcome(image, 'Failed');
    const run = await sb.hoist(['plan', 'resume']);
    expect(run.exitCode, run.stderr).toBe(6);
    expect(run.stderr).toContain(`Executing "${PHASE}" on node-1`);
    expect(run.stderr).not.toContain('Executing "/runtime/dns-app"');
    expect(phaseMap((await sb.plan()).phases).get(PHASE)!.state).toBe('failed');
    const status = JSON.parse((await sb.hoist(['status', '-o', 'json'])).stdout) as Record<string, unknown>;
    expect(status).toMatchObject({ status: 'updating', installedVersion: '1.0.0' });
  });

  it('set completed by hand, the hook phase lets plan resume finish the upgrade; status history lists every event in order', {
    timeout: 300_000,
  }, async () => {
    const set = await sb.hoist(['plan', 'set', '--phase', PHASE, '--state', 'completed', '--reason', 'logging-app updated by hand']);
    expectExit(set, 0, 'hoist plan set');
    expect((await sb.hoist(['plan'])).stdout).toContain(`${PHASE}: Completed by `);
    const resume = await sb.hoist(['plan', 'resume']);
    expectExit(resume, 0, 'hoist plan resume after the override');
    expect(resume.stderr).not.toContain(`Executing "${PHASE}"`);
    expect(resume.stdout).toContain('completed; cluster upgrade-demo is active at 2.0.0');

    const history = await sb.hoist(['status', 'history', '-o', 'json']);
    expectExit(history, 0, 'hoist status history');
    const events = (JSON.parse(history.stdout) as { events: { type: string; phase?: string; by: { command: string } }[] }).events;
    expect(events.map((e) => `${e.type} ${e.phase ?? ''} by ${e.by.command.replace(/ \/.*$/, '')}`.replace('  ', ' '))).toEqual([
      'operation.started by hoist upgrade',
      `phase.failed ${PHASE} by hoist upgrade`,
      `phase.failed ${PHASE} by hoist plan resume`,
      `override ${PHASE} by hoist plan set`,
      'operation.completed by hoist plan resume',
    ]);
    const text = (await sb.hoist(['status', 'history'])).stdout.trim().split('\n');
    expect(text.map((l) => /\[([^\]]+)\]/.exec(l)?.[1])).toEqual([
      'Operation Started',
      'Phase Failed',
      'Phase Failed',
      'Manual Override',
      'Operation Completed',
    ]);
  });
});
