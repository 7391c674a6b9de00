import { describe, expect, it } from 'vitest';
import type { NodeFacts, UpgradeInput } from '../../../src/plan/builder/input.js';
import { buildUpgradePlan } from '../../../src/plan/builder/upgrade-plan.js';
import { findPhase } from '../../../src/plan/query.js';
import type { Phase, Plan } from '../../../src/plan/types.js';
import { DEMO_V1, DEMO_V2, SCENARIOS } from './scenarios.js';

const demo = SCENARIOS['demo-3-masters']!;
const withWorkers = SCENARIOS['1-master-2-workers']!;

function get(plan: Plan, id: string): Phase {
  const p = findPhase(plan.phases, id);
  if (!p) throw new Error(`no phase ${id}`);
  return p;
}
const top = (plan: Plan): string[] => plan.phases.map((p) => p.id);
const kids = (plan: Plan, id: string): string[] => (get(plan, id).phases ?? []).map((p) => p.id);

const workers = (count: number): NodeFacts[] =>
  Array.from({ length: count }, (_, i) => ({ name: `worker-${i + 1}`, address: `127.0.1.${i + 1}`, role: 'worker' as const }));

describe('plan builder', () => {
  describe('parallel limits', () => {
    it('caps the per-node groups at the parallel input', () => {
      const plan = buildUpgradePlan({ ...demo, parallel: 2 });
      for (const id of ['/init', '/bootstrap', '/config', '/gc']) expect(get(plan, id).parallel).toBe(2);
      expect(get(plan, '/masters').parallel).toBe(1);
      expect(get(plan, '/runtime').parallel).toBe(1);
    });

    it('never sets a per-node group above its number of children', () => {
      const plan = buildUpgradePlan({ ...withWorkers, parallel: 5 });
      expect(get(plan, '/init').parallel).toBe(3);
      expect(get(plan, '/config').parallel).toBe(1);
    });

    it('handles maxUnavailableWorkers as a count or a percentage of the workers, rounded down', () => {
      const limit = (nodes: NodeFacts[], value?: number | string): number | undefined =>
        get(buildUpgradePlan({ ...withWorkers, nodes, maxUnavailableWorkers: value }), '/workers').parallel;
      const two = [withWorkers.nodes[0]!, ...workers(2)];
      const four = [withWorkers.nodes[0]!, ...workers(4)];
      expect(limit(two)).toBe(1);
      expect(limit(two, 2)).toBe(2);
      expect(limit(two, '50%')).toBe(1);
      expect(limit(four, '50%')).toBe(2);
      expect(limit(four, '60%')).toBe(2);
      expect(limit(two, '25%')).toBe(1);
      expect(limit(two, 5)).toBe(2);
      expect(limit(four, '100%')).toBe(4);
    });
  });

  describe('workers', () => {
    it('gives each worker its own chained group with no requirement between workers', () => {
      const plan = buildUpgradePlan(withWorkers);
      expect(top(plan)).toEqual([
        '/init',
        '/checks',
        '/pre-update',
        '/bootstrap',
        '/coredns',
        '/masters',
        '/workers',
        '/config',
        '/runtime',
        '/migration',
        '/app',
        '/gc',
      ]);
      expect(get(plan, '/workers').requires).toEqual(['/masters']);
      expect(kids(plan, '/workers')).toEqual(['/workers/node-2', '/workers/node-3']);
      for (const w of ['node-2', 'node-3']) {
        const group = get(plan, `/workers/${w}`);
        expect(group.requires).toEqual([]);
        expect(group.description).toBe(`Update system software on node "${w}"`);
        expect(group.phases!.map((p) => p.id.split('/').pop())).toEqual([
          'drain',
          'system-upgrade',
          'health',
          'taint',
          'uncordon',
          'endpoints',
          'untaint',
        ]);
      }
      expect(get(plan, '/config').requires).toEqual(['/workers']);
      expect(kids(plan, '/config')).toEqual(['/config/node-1']);
      expect(kids(plan, '/gc')).toEqual(['/gc/node-1', '/gc/node-2', '/gc/node-3']);
    });

    it('leaves out workers already on the target runtime, and /workers when none is left', () => {
      const nodes = withWorkers.nodes.map((n) => (n.role === 'worker' ? { ...n, runtime: DEMO_V2.runtime } : n));
      const plan = buildUpgradePlan({ ...withWorkers, nodes });
      expect(top(plan)).not.toContain('/workers');
      expect(get(plan, '/config').requires).toEqual(['/masters']);
    });
  });

  describe('lead master', () => {
    const input: UpgradeInput = { ...demo, leader: 'node-2' };

    it('puts the lead first in every per-node group and keeps the inventory order otherwise', () => {
      const plan = buildUpgradePlan(input);
      for (const g of ['/init', '/bootstrap', '/config', '/gc'])
        expect(kids(plan, g)).toEqual([`${g}/node-2`, `${g}/node-1`, `${g}/node-3`]);
      expect(kids(plan, '/masters')).toEqual(['/masters/node-2', '/masters/node-1', '/masters/node-3']);
      expect(plan.leader).toBe('node-2');
      expect(plan.servers.map((s) => s.name)).toEqual(['node-1', 'node-2', 'node-3']);
    });

    it('gives the lead the lead sequence and chains the other masters after it', () => {
      const plan = buildUpgradePlan(input);
      expect(kids(plan, '/masters/node-2')[0]).toBe('/masters/node-2/kubelet-permissions');
      expect(get(plan, '/masters/node-2').requires).toEqual([]);
      expect(get(plan, '/masters/node-1').requires).toEqual(['/masters/node-2']);
      expect(get(plan, '/masters/node-3').requires).toEqual(['/masters/node-1']);
      expect(get(plan, '/masters/node-2/elect').data).toEqual({ enable: 'node-2', disable: ['node-1', 'node-3'] });
      expect(get(plan, '/init/node-2').data).toEqual({ leader: true });
      expect(get(plan, '/init/node-1').data).toEqual({ leader: false });
    });

    it('runs Kubernetes API phases on the lead and node phases on the node', () => {
      const plan = buildUpgradePlan(input);
      expect(get(plan, '/masters/node-1/drain')).toMatchObject({ node: 'node-2', server: 'node-1' });
      expect(get(plan, '/masters/node-1/system-upgrade')).toMatchObject({ node: 'node-1', server: 'node-1' });
      expect(get(plan, '/checks').node).toBe('node-2');
      expect(get(plan, '/runtime/dns-app').node).toBe('node-2');
    });

    it('defaults to the first master even when a worker is listed first', () => {
      const nodes: NodeFacts[] = [{ name: 'w-1', address: '127.0.0.9', role: 'worker' }, ...demo.nodes];
      const plan = buildUpgradePlan({ ...demo, nodes });
      expect(plan.leader).toBe('node-1');
      expect(kids(plan, '/init')).toEqual(['/init/node-1', '/init/w-1', '/init/node-2', '/init/node-3']);
    });
  });

  describe('what changes', () => {
    const sameRuntime = (input: UpgradeInput): UpgradeInput => ({
      ...input,
      target: { ...input.target, runtime: input.installed.runtime },
    });

    it('plans system apps without node updates when only system apps change', () => {
      const plan = buildUpgradePlan(sameRuntime(demo));
      expect(top(plan)).toEqual([
        '/init',
        '/checks',
        '/pre-update',
        '/bootstrap',
        '/coredns',
        '/config',
        '/runtime',
        '/migration',
        '/app',
        '/gc',
      ]);
      expect(get(plan, '/config').requires).toEqual(['/coredns']);
    });

    it('plans etcd alone when only etcd moves, and skips /runtime', () => {
      const target = { ...DEMO_V1, version: '1.0.1', etcdVersion: '3.5.0' };
      const plan = buildUpgradePlan({ ...demo, target });
      expect(top(plan)).toEqual([
        '/init',
        '/checks',
        '/pre-update',
        '/bootstrap',
        '/coredns',
        '/etcd',
        '/config',
        '/migration',
        '/app',
        '/gc',
      ]);
      expect(get(plan, '/etcd').requires).toEqual(['/coredns']);
      expect(get(plan, '/migration').requires).toEqual(['/config']);
    });

    it('trusts the running etcd version over the installed image', () => {
      const input = SCENARIOS['etcd-change']!;
      expect(top(buildUpgradePlan(input))).toContain('/etcd');
      expect(top(buildUpgradePlan({ ...input, etcdVersion: '3.5.0' }))).not.toContain('/etcd');
      expect(get(buildUpgradePlan({ ...input, etcdVersion: '3.4.20' }), '/etcd').description).toBe('Upgrade etcd 3.4.20 to 3.5.0');
    });

    it('puts rbac-app first, includes new system apps and never plans a downgrade', () => {
      const target = {
        ...DEMO_V2,
        systemApps: ['dns-app:7.0.3', 'logging-app:6.0.1', 'storage-app:1.0.0', 'rbac-app:7.0.30'],
      };
      const plan = buildUpgradePlan({ ...demo, target });
      expect(kids(plan, '/runtime')).toEqual(['/runtime/rbac-app', '/runtime/dns-app', '/runtime/storage-app']);
      expect(get(plan, '/runtime/rbac-app').requires).toEqual([]);
      expect(get(plan, '/runtime/dns-app').requires).toEqual(['/runtime/rbac-app']);
      expect(get(plan, '/runtime/storage-app').data).toEqual({ app: 'storage-app', version: '1.0.0' });
    });

    it('builds the app-only layout when nothing but the application changes', () => {
      const plan = buildUpgradePlan(SCENARIOS['app-only']!);
      expect(top(plan)).toEqual(['/checks', '/pre-update', '/app', '/gc']);
      expect(plan.phases.map((p) => p.requires)).toEqual([[], ['/checks'], ['/pre-update'], ['/app']]);
    });

    it('skips masters already on the target runtime and re-enables only those it disabled', () => {
      const plan = buildUpgradePlan(SCENARIOS['partly-upgraded']!);
      expect(kids(plan, '/masters')).toEqual(['/masters/node-1', '/masters/node-2']);
      expect(get(plan, '/masters/node-1/elect').data).toEqual({ enable: 'node-1', disable: ['node-2'] });
      expect(kids(plan, '/config')).toContain('/config/node-3');
    });

    it('gives a single master the worker sequence', () => {
      const plan = buildUpgradePlan(SCENARIOS['single-master']!);
      expect(kids(plan, '/masters/node-1').map((id) => id.split('/').pop())).toEqual([
        'drain',
        'system-upgrade',
        'health',
        'taint',
        'uncordon',
        'endpoints',
        'untaint',
      ]);
    });
  });
});
