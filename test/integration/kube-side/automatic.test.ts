/** `hoist upgrade IMAGE` in automatic mode on a 3-master sandbox: every phase, then the agents go. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { publishedValidator } from '../../helpers/events-schema.js';
import { escapeRegex, expectExit, IMAGE_2, leaves, RUNTIME_2, type Sandbox, sandboxUp, tainted } from './helpers.js';

describe('kube-side › automatic upgrade', () => {
  let sb: Sandbox;

  beforeAll(async () => {
    sb = await sandboxUp({ firstAddress: '127.0.21.2' });
  });

  afterAll(async () => {
    await sb?.down();
  });

  it('hoist upgrade runs every phase and exits 0', { timeout: 300_000 }, async () => {
    const put = await sb.etcdctl(['put', '/kube-side/automatic', 'kept']);
    expect(put.exitCode, put.stderr).toBe(0);

    const eventsFile = join(sb.stateDir, 'events.ndjson');
    const run = await sb.hoist(['upgrade', IMAGE_2, '--events', eventsFile]);
    expectExit(run, 0, 'hoist upgrade');
    expect(run.stdout).toMatch(/Cluster upgrade-demo upgraded from 1\.0\.0 to 2\.0\.0 \(operation \S+\)/);
    expect(run.stderr).toContain('Upgrading cluster from 1.0.0 to 2.0.0');
    expect(run.stderr).toMatch(/Executing phase "\/" finished in \S/);
    expect(run.stderr).toContain('Shutting down the agents');

    const plan = await sb.plan();
    expect(plan.operation).toMatchObject({ state: 'completed', mode: 'automatic', from: '1.0.0', to: '2.0.0' });
    const all = leaves(plan.phases);
    expect(all.length).toBeGreaterThan(40);
    expect(all.filter((p) => p.state !== 'completed').map((p) => `${p.id} ${p.state}`)).toEqual([]);
    // Every leaf of the plan was announced as it started.
    for (const leaf of all) expect(run.stderr).toContain(`Executing "${leaf.id}" on ${leaf.node}`);

    // The events stream a CI job reads: valid against the published schema, framed by the
    // operation's start and finish, one start and one finish per leaf (parallel groups finish in any order).
    const events = readFileSync(eventsFile, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { type: string; phase?: string; operation?: string });
    const check = publishedValidator();
    for (const e of events) expect(check(e), JSON.stringify(e)).toBeUndefined();
    expect(events[0]).toMatchObject({ type: 'operation.started', operation: plan.operation.id, created: true, from: '1.0.0', to: '2.0.0' });
    expect(events.at(-1)).toMatchObject({ type: 'operation.finished', outcome: 'ok', exitCode: 0, operationState: 'completed' });
    const per = (type: string) =>
      events
        .filter((e) => e.type === type)
        .map((e) => e.phase)
        .sort();
    const ids = all.map((p) => p.id).sort();
    expect(per('phase.started')).toEqual(ids);
    expect(per('phase.completed')).toEqual(ids);
    expect(per('phase.failed')).toEqual([]);
  });

  it('leaves the cluster active at 2.0.0', async () => {
    const status = await sb.hoist(['status', '-o', 'json']);
    expectExit(status, 0, 'hoist status');
    const doc = JSON.parse(status.stdout) as Record<string, unknown>;
    expect(doc).toMatchObject({
      status: 'active',
      installedVersion: '2.0.0',
      activeOperation: null,
      lastOperation: { state: 'completed', to: '2.0.0', mode: 'automatic' },
    });
  });

  it('every node runs the new runtime, schedulable, untainted and labelled 2.0.0; etcd kept its data', async () => {
    for (const n of sb.nodes) expect((await sb.health(n.address)).version, n.name).toBe(RUNTIME_2);
    for (const node of await sb.kubeNodes()) {
      expect(!!node.spec.unschedulable, node.metadata.name).toBe(false);
      expect(tainted(node), node.metadata.name).toBe(false);
      expect(node.metadata.labels?.['hoist/version'], node.metadata.name).toBe('2.0.0');
    }
    const get = await sb.etcdctl(['get', '/kube-side/automatic', '--print-value-only']);
    expect(get.stdout.trim()).toBe('kept');
  });

  it('shut the agents down: agent status exits 5 with every node Offline', async () => {
    const text = await sb.hoist(['agent', 'status']);
    expect(text.exitCode).toBe(5);
    for (const n of sb.nodes) expect(text.stdout).toMatch(new RegExp(`^${n.name}\\s+${escapeRegex(n.address)}\\s+Offline\\s`, 'm'));
    expect(text.stdout).not.toContain('Deployed');

    const run = await sb.hoist(['agent', 'status', '-o', 'json']);
    expect(run.exitCode).toBe(5);
    // stdout holds the one result document; the error that follows it goes to stderr.
    expect(run.stderr).toContain('error[ERR_AGENT_OFFLINE]');
    const doc = JSON.parse(run.stdout) as { agents: { name: string; status: string }[] };
    expect(doc.agents.map((a) => [a.name, a.status])).toEqual(sb.nodes.map((n) => [n.name, 'Offline']));
  });
});
