/**
 * The manual walkthrough of the seeds on a 3-master sandbox: every leaf phase executed one by one
 * in plan order, and after each the cluster looked at with the real kubectl, etcdctl and the
 * runtimes' /health.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  escapeRegex,
  expectExit,
  IMAGE_2,
  leaves,
  type PlanPhase,
  processesUnder,
  RUNTIME_1,
  RUNTIME_2,
  type Sandbox,
  sandboxUp,
  tainted,
} from './helpers.js';

const GROUPS = [
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
];
const ETCD_KEY = '/kube-side/walkthrough';
const ETCD_VALUE = 'written-before-the-upgrade';

/** What the cluster should look like after the phases run so far. */
interface Expected {
  versions: Map<string, string>;
  cordoned: Set<string>;
  tainted: Set<string>;
  labelled: boolean;
}

/** Applies the leaf's modelled effect; true when the leaf is one that changes the model. */
function apply(expected: Expected, id: string): boolean {
  if (id === '/migration/labels') {
    expected.labelled = true;
    return true;
  }
  const m = /^\/(?:masters|workers)\/([^/]+)\/([^/]+)$/.exec(id);
  if (!m) return false;
  const [, node, step] = m as unknown as [string, string, string];
  if (step === 'system-upgrade') expected.versions.set(node, RUNTIME_2);
  else if (step === 'drain') expected.cordoned.add(node);
  else if (step === 'uncordon') expected.cordoned.delete(node);
  else if (step === 'taint') expected.tainted.add(node);
  else if (step === 'untaint') expected.tainted.delete(node);
  else return false;
  return true;
}

describe('kube-side › manual walkthrough, phase by phase', () => {
  let sb: Sandbox;
  let plan: PlanPhase[];
  const expected: Expected = { versions: new Map(), cordoned: new Set(), tainted: new Set(), labelled: false };

  beforeAll(async () => {
    sb = await sandboxUp({ firstAddress: '127.0.20.2' });
    for (const n of sb.nodes) expected.versions.set(n.name, RUNTIME_1);
  });

  afterAll(async () => {
    await sb?.down();
  });

  async function expectClusterAsModelled(after: string): Promise<void> {
    for (const n of sb.nodes) {
      const h = await sb.health(n.address);
      expect(h.version, `runtime of ${n.name} after ${after}`).toBe(expected.versions.get(n.name));
      expect(h.status, `runtime of ${n.name} after ${after}`).toBe('healthy');
    }
    const nodes = await sb.kubeNodes();
    expect(nodes.map((n) => n.metadata.name).sort()).toEqual(sb.nodes.map((n) => n.name));
    for (const node of nodes) {
      const name = node.metadata.name;
      expect(!!node.spec.unschedulable, `cordon of ${name} after ${after}`).toBe(expected.cordoned.has(name));
      expect(tainted(node), `taint of ${name} after ${after}`).toBe(expected.tainted.has(name));
      expect(node.metadata.labels?.['hoist/version'] === '2.0.0', `hoist/version label of ${name} after ${after}`).toBe(expected.labelled);
    }
    const get = await sb.etcdctl(['get', ETCD_KEY, '--print-value-only']);
    expect(get.exitCode, `etcdctl get after ${after}: ${get.stderr}`).toBe(0);
    expect(get.stdout.trim(), `etcd data after ${after}`).toBe(ETCD_VALUE);
  }

  it('the leftover-process check sees what the sandbox runs: sshd, etcd and a runtime per node, the emulator', async () => {
    const procs = (await processesUnder(sb.stateDir)).map((p) => p.cmdline);
    for (const n of sb.nodes) {
      const own = procs.filter((c) => c.includes(`/nodes/${n.name}/`));
      expect(
        own.some((c) => c.includes('sshd')),
        `sshd of ${n.name}`,
      ).toBe(true);
      expect(
        own.some((c) => c.startsWith('etcd ')),
        `etcd of ${n.name}`,
      ).toBe(true);
      expect(
        own.some((c) => c.includes('service.mjs')),
        `runtime of ${n.name}`,
      ).toBe(true);
    }
    expect(procs.some((c) => c.includes('sandbox/kube/main.js'))).toBe(true);
  });

  it('creates the operation in manual mode; every phase stays unstarted', async () => {
    const put = await sb.etcdctl(['put', ETCD_KEY, ETCD_VALUE]);
    expect(put.exitCode, put.stderr).toBe(0);

    const up = await sb.hoist(['upgrade', '--manual', IMAGE_2]);
    expectExit(up, 0, 'hoist upgrade --manual');
    expect(up.stdout).toMatch(/The operation \S+ has been created in manual mode/);
    expect(up.stderr).toContain('Upgrading cluster from 1.0.0 to 2.0.0');

    const json = await sb.plan();
    expect(json.operation).toMatchObject({ state: 'in_progress', mode: 'manual', from: '1.0.0', to: '2.0.0' });
    expect(json.phases.map((p) => p.id)).toEqual(GROUPS);
    plan = json.phases;
    expect(leaves(plan).every((p) => p.state === 'unstarted')).toBe(true);
    await expectClusterAsModelled('hoist upgrade --manual');
  });

  for (const group of GROUPS) {
    it(`executes every leaf of ${group} one by one, in plan order`, { timeout: 300_000 }, async () => {
      const todo = leaves(plan).filter((p) => p.id === group || p.id.startsWith(`${group}/`));
      expect(todo.length).toBeGreaterThan(0);
      for (const [i, leaf] of todo.entries()) {
        const run = await sb.hoist(['plan', 'execute', '--phase', leaf.id]);
        expectExit(run, 0, `hoist plan execute --phase ${leaf.id}`);
        expect(run.stderr).toContain(`Executing "${leaf.id}" on ${leaf.node}`);
        expect(run.stderr).toMatch(new RegExp(`Executing phase "${escapeRegex(leaf.id)}" finished in \\S`));
        // The cluster is read after every leaf the model says changes it, and after the group's
        // last: a leaf that changed what it should not shows there at the latest.
        const changes = apply(expected, leaf.id);
        if (changes || i === todo.length - 1) await expectClusterAsModelled(leaf.id);
      }
      const now = new Map(leaves((await sb.plan()).phases).map((p) => [p.id, p.state]));
      for (const leaf of todo) expect(now.get(leaf.id), leaf.id).toBe('completed');
    });
  }

  it('drained every node of its evictable pods; only DaemonSet pods are left', async () => {
    const pods = JSON.parse((await sb.kubectl(['get', 'pods', '-A', '-o', 'json'])).stdout) as {
      items: { metadata: { name: string; ownerReferences?: { kind: string }[] } }[];
    };
    expect(pods.items.length).toBeGreaterThan(0);
    for (const p of pods.items) expect(p.metadata.ownerReferences?.[0]?.kind, p.metadata.name).toBe('DaemonSet');
  });

  it('plan complete closes the operation; the cluster is active at 2.0.0', async () => {
    expect(leaves((await sb.plan()).phases).every((p) => p.state === 'completed')).toBe(true);
    const done = await sb.hoist(['plan', 'complete']);
    expectExit(done, 0, 'hoist plan complete');

    const status = await sb.hoist(['status', '-o', 'json']);
    expectExit(status, 0, 'hoist status');
    const doc = JSON.parse(status.stdout) as {
      status: string;
      installedVersion: string;
      activeOperation: unknown;
      lastOperation: { state: string; to: string } | null;
    };
    expect(doc).toMatchObject({ status: 'active', installedVersion: '2.0.0', activeOperation: null });
    expect(doc.lastOperation).toMatchObject({ state: 'completed', to: '2.0.0' });
    expect((await sb.plan()).operation.state).toBe('completed');
  });
});
