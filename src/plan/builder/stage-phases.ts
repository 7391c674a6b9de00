/**
 * Phase groups shared by the plan layouts: the preamble (/init, /checks, /pre-update), one stage
 * of node software updates (bootstrap → coredns → masters → workers → etcd → config → runtime)
 * and the closing groups (/migration, /app, /gc). A direct upgrade has one stage at the top
 * level; a multi-hop upgrade has one per intermediate version plus the target's.
 */

import type { ExecutorKey } from '../phase-data.js';
import { etcdPhases } from './etcd-phases.js';
import type { NodeFacts } from './input.js';
import { nodeParallel, workerParallel } from './limits.js';
import { masterGroups, workerGroups } from './node-phases.js';
import { type PhaseBuilder, phase } from './tree.js';
import type { PackageUpdate, UpgradeFacts } from './upgrade-facts.js';

/** /init (one child per node), /checks and /pre-update, each requiring the ones before. */
export function preamble(f: UpgradeFacts): { init: PhaseBuilder; checks: PhaseBuilder; preUpdate: PhaseBuilder } {
  const init = perNode('init', 'Initialize update operation', f.nodes, f, (n) => ({
    executor: 'init',
    description: `Initialize node "${n.name}"`,
    data: { leader: n === f.leader },
  }));
  const checks = checksPhase(f).require(init);
  const preUpdate = preUpdatePhase(f).require(init, checks);
  return { init, checks, preUpdate };
}

/** The stage's `bootstrap` group: every node gets the stage's runtime package. */
export function bootstrapPhase(f: UpgradeFacts): PhaseBuilder {
  return perNode('bootstrap', 'Bootstrap update operation on nodes', f.nodes, f, (n) => ({
    executor: 'bootstrap',
    description: `Bootstrap node "${n.name}"`,
    data: { leader: n === f.leader, runtime: f.input.target.runtime },
  }));
}

/** The stage after bootstrap, in order: coredns (when asked), masters, workers, etcd, config, runtime. */
export function stagePhases(f: UpgradeFacts, withCoredns: boolean): PhaseBuilder[] {
  const lead = f.leader.name;
  const out: PhaseBuilder[] = [];
  if (withCoredns) out.push(phase('coredns', { executor: 'coredns', description: 'Provision CoreDNS resources', node: lead }));
  const masters = masterGroups(f);
  if (masters.length > 0) out.push(phase('masters', { description: 'Update master nodes' }).addParallel(...masters));
  const workers = workerGroups(f);
  if (workers.length > 0) {
    const parallel = workerParallel(workers.length, f.input.maxUnavailableWorkers);
    out.push(phase('workers', { description: 'Update regular nodes', parallel }).addParallel(...workers));
  }
  if (f.etcd) out.push(etcdPhases(f));
  out.push(
    perNode('config', 'Update system configuration on nodes', f.masters, f, (n) => ({
      executor: 'config',
      description: `Update system configuration on node "${n.name}"`,
    })),
  );
  if (f.systemApps.length > 0) out.push(appGroup('runtime', 'Update application runtime', f.systemApps, lead, 'system application'));
  return out;
}

/** /migration, /app and /gc. */
export function closingPhases(f: UpgradeFacts): PhaseBuilder[] {
  const lead = f.leader.name;
  return [
    phase('migration', { description: 'Perform system database migration' }).addParallel(
      phase('labels', { executor: 'migrate-labels', description: 'Update node labels', node: lead }),
    ),
    appGroup('app', 'Update installed application', f.apps, lead, 'application'),
    gcPhases(f),
  ];
}

/** /checks carries the target's requirements so the check runs against what the new version needs. */
export function checksPhase(f: UpgradeFacts): PhaseBuilder {
  const requirements = f.input.target.requirements;
  return phase('checks', {
    executor: 'checks',
    description: 'Run preflight checks',
    node: f.leader.name,
    ...(requirements ? { data: { requirements } } : {}),
  });
}

/** /pre-update: the application's pre-update hook, run from the lead master. */
export function preUpdatePhase(f: UpgradeFacts): PhaseBuilder {
  return phase('pre-update', { executor: 'pre-update', description: 'Run pre-update application hook', node: f.leader.name });
}

/** /gc: one cleanup leaf per node. */
export function gcPhases(f: UpgradeFacts): PhaseBuilder {
  return perNode('gc', 'Run cleanup tasks', f.nodes, f, (n) => ({ executor: 'gc', description: `Clean up node "${n.name}"` }));
}

/** A group with one independent child per node, each run on its own node. */
function perNode(
  key: string,
  description: string,
  nodes: NodeFacts[],
  f: UpgradeFacts,
  leaf: (n: NodeFacts) => { executor: ExecutorKey; description: string; data?: Record<string, unknown> },
): PhaseBuilder {
  const group = phase(key, { description, parallel: nodeParallel(nodes.length, f.input.parallel) });
  return group.addParallel(...nodes.map((n) => phase(n.name, { ...leaf(n), node: n.name, server: n.name })));
}

/** A chain of `update-app` leaves run from the lead master, one per package. */
export function appGroup(key: string, description: string, updates: PackageUpdate[], lead: string, kind: string): PhaseBuilder {
  return phase(key, { description }).addSequential(
    ...updates.map((u) =>
      phase(u.name, {
        executor: 'update-app',
        description: `Update ${kind} "${u.name}" to ${u.version}`,
        node: lead,
        data: { app: u.name, version: u.version, ...(u.from !== undefined ? { from: u.from } : {}) },
      }),
    ),
  );
}
