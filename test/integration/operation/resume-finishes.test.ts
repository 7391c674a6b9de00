/**
 * On a real single-master sandbox: the image is pinned at creation (another image at its path is
 * refused with exit 3); `plan resume` after `agent shutdown` deploys the agents again, runs the
 * rest, closes the operation and shuts the agents down (issue test f); and a crash between the
 * two record writes of that closing is repaired by the next `plan complete` or `agent deploy`
 * (issue test e), which also free the nodes of the closed operation.
 */
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectExit, HOIST, IMAGE_2, leaves, type Sandbox, sandboxUp } from '../kube-side/helpers.js';

const IMAGE_201 = IMAGE_2.replace(/2\.0\.0$/, '2.0.1');

describe('operation › pinned image, resume that finishes, crash repair', () => {
  let sb: Sandbox;
  let work: string;

  beforeAll(async () => {
    sb = await sandboxUp({ firstAddress: '127.0.80.2', masters: 1 });
    work = mkdtempSync(join(tmpdir(), 'hoist-resume-'));
  }, 300_000);

  afterAll(async () => {
    await sb?.down();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it('refuses a changed image with ERR_IMAGE_CHANGED (exit 3) naming both digests, and runs once it is back', {
    timeout: 300_000,
  }, async () => {
    const image = join(work, 'image');
    cpSync(IMAGE_2, image, { recursive: true });
    expectExit(await sb.hoist(['upgrade', '--manual', image]), 0, 'upgrade --manual');
    const { operation } = await sb.plan();
    const pinned = (operation as { imageDigest?: string }).imageDigest;
    expect(pinned).toMatch(/^sha256:[0-9a-f]{64}$/);

    const manifest = join(image, 'app.yaml');
    const original = readFileSync(manifest, 'utf8');
    writeFileSync(manifest, original.replace('maxTimeDriftMs: 300', 'maxTimeDriftMs: 900'));
    const refused = await sb.hoist(['plan', 'execute', '--phase', '/init']);
    expectExit(refused, 3, 'plan execute with a changed image');
    expect(refused.stderr).toContain('error[ERR_IMAGE_CHANGED]');
    expect(refused.stderr).toContain(`it was ${pinned}, it is now sha256:`);
    expect(leaves((await sb.plan()).phases).filter((p) => p.state !== 'unstarted')).toEqual([]);

    writeFileSync(manifest, original);
    expectExit(await sb.hoist(['plan', 'execute', '--phase', '/init']), 0, 'plan execute /init with the image back');
  });

  it('plan resume after agent shutdown redeploys the agents, completes, closes the operation and shuts them down', {
    timeout: 1_200_000,
  }, async () => {
    expectExit(await sb.hoist(['agent', 'shutdown']), 0, 'agent shutdown');
    expectExit(await sb.hoist(['agent', 'status']), 5, 'agent status after shutdown');

    const resume = await sb.hoist(['plan', 'resume']);
    expectExit(resume, 0, 'plan resume');
    const node = sb.nodes[0]!;
    expect(resume.stderr).toContain(`Agents offline on ${node.name} (${node.address}): deploying them again`);
    // The per-node deploy result is written to stdout, the rest of the progress to stderr.
    expect(`${resume.stdout}${resume.stderr}`).toContain(`Deployed agent on ${node.name} (${node.address})`);
    expect(resume.stderr).toContain('Shutting down the agents');
    expect(resume.stdout).toMatch(/^Operation \S+ completed; cluster upgrade-demo is active at 2\.0\.0\.$/m);

    const plan = await sb.plan();
    expect(plan.operation).toMatchObject({ state: 'completed', to: '2.0.0' });
    expect(leaves(plan.phases).filter((p) => p.state !== 'completed')).toEqual([]);
    const status = JSON.parse((await sb.hoist(['status', '-o', 'json'])).stdout) as Record<string, unknown>;
    expect(status).toMatchObject({ status: 'active', installedVersion: '2.0.0', activeOperation: null });
    expectExit(await sb.hoist(['agent', 'status']), 5, 'agent status after the resume closed the operation');
    expectExit(await sb.hoist(['plan', 'complete']), 4, 'plan complete with nothing left to close');
  });

  it('a crash between the two writes of closing is repaired by plan complete, which says so and frees the nodes', {
    timeout: 300_000,
  }, async () => {
    expectExit(await sb.hoist(['upgrade', '--manual', IMAGE_201]), 0, 'upgrade --manual to 2.0.1');
    const crashed = await execa(HOIST, ['-c', sb.clusterFile, 'plan', 'execute', '--phase', '/'], {
      env: { HOIST_STATE_DIR: sb.stateDir, HOIST_TEST_CRASH_AT: 'complete:operation-written' },
      reject: false,
    });
    expect(crashed.signal, crashed.stderr).toBe('SIGKILL');
    const plan = await sb.plan();
    expect(plan.operation).toMatchObject({ state: 'completed', to: '2.0.1' });

    const repaired = await sb.hoist(['plan', 'complete']);
    expectExit(repaired, 0, 'plan complete after the crash');
    expect(repaired.stderr).toContain(
      `Repaired the records: the cluster record says updating (operation ${plan.operation.id}) but that operation is completed: the cluster is marked active at 2.0.1.`,
    );
    expect(repaired.stdout.trim()).toBe(`Operation ${plan.operation.id} marked completed; cluster upgrade-demo is active at 2.0.1.`);
    const status = JSON.parse((await sb.hoist(['status', '-o', 'json'])).stdout) as Record<string, unknown>;
    expect(status).toMatchObject({ status: 'active', installedVersion: '2.0.1', activeOperation: null });
    // The crash came before the agents were shut down; an operator does that by hand, and the
    // repair released the closed operation's node leases, so no agent refuses.
    const shutdown = await sb.hoist(['agent', 'shutdown']);
    expectExit(shutdown, 0, 'agent shutdown after the repair');
    expect(shutdown.stderr).not.toContain('ERR_AGENT_LEASE_HELD');
  });

  it('a crash between the two writes of closing is repaired by agent deploy, which no node refuses', {
    timeout: 300_000,
  }, async () => {
    expectExit(await sb.hoist(['upgrade', '--manual', IMAGE_2.replace(/2\.0\.0$/, '2.1.0')]), 0, 'upgrade --manual to 2.1.0');
    const crashed = await execa(HOIST, ['-c', sb.clusterFile, 'plan', 'execute', '--phase', '/'], {
      env: { HOIST_STATE_DIR: sb.stateDir, HOIST_TEST_CRASH_AT: 'complete:operation-written' },
      reject: false,
    });
    expect(crashed.signal, crashed.stderr).toBe('SIGKILL');
    const closed = (await sb.plan()).operation.id;

    // Redeploying restarts agents, which a node refuses while it serves a live operation: the
    // repair must have released the closed operation's leases first.
    const deploy = await sb.hoist(['agent', 'deploy']);
    expectExit(deploy, 0, 'agent deploy after the crash');
    expect(deploy.stderr).toContain(
      `Repaired the records: the cluster record says updating (operation ${closed}) but that operation is completed`,
    );
    const status = JSON.parse((await sb.hoist(['status', '-o', 'json'])).stdout) as Record<string, unknown>;
    expect(status).toMatchObject({ status: 'active', installedVersion: '2.1.0', activeOperation: null });
    expectExit(await sb.hoist(['agent', 'shutdown']), 0, 'agent shutdown');
  });
});
