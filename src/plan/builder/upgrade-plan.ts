/**
 * The upgrade plan builder: cluster facts + target image → phase tree, in Gravity 7's layout
 * (spec §6.2) with hoist's fixes: a complete requirement DAG, bounded parallel groups, and the
 * resolved node on every phase. Pure: identity and time come in with the input.
 */
import type { Plan } from '../types.js';
import { etcdPhases } from './etcd-phases.js';
import { checkUpgradeGates } from './gates.js';
import type { NodeFacts, UpgradeInput } from './input.js';
import { nodeParallel, workerParallel } from './limits.js';
import { masterGroups, workerGroups } from './node-phases.js';
import { type PhaseBuilder, phase, planRoot } from './tree.js';
import { gatherFacts, needsFullPlan, type PackageUpdate, type UpgradeFacts } from './upgrade-facts.js';
import { validatePlan } from './validate.js';

export { checkUpgradeGates } from './gates.js';

/** Builds the plan of an upgrade; throws InputError when a gate refuses it. */
export function buildUpgradePlan(input: UpgradeInput): Plan {
  checkUpgradeGates(input);
  const facts = gatherFacts(input);
  const root = planRoot();
  if (needsFullPlan(facts)) addFullPlan(root, facts);
  else addAppOnlyPlan(root, facts);
  const phases = root.children.map((c) => c.toPhase());
  validatePlan(phases);
  return {
    operationId: input.operationId,
    operationType: 'upgrade',
    cluster: input.cluster,
    createdAt: input.createdAt,
    from: input.installed.version,
    to: input.target.version,
    leader: facts.leader.name,
    servers: input.nodes.map(({ name, address, role }) => ({ name, address, role })),
    phases,
  };
}

function addFullPlan(root: PhaseBuilder, f: UpgradeFacts): void {
  const lead = f.leader.name;
  const init = perNode('init', 'Initialize update operation', f.nodes, f, (n) => ({
    executor: 'init',
    description: `Initialize node "${n.name}"`,
    data: { leader: n === f.leader },
  }));
  const checks = checksPhase(f).require(init);
  const preUpdate = phase('pre-update', { executor: 'pre-update', description: 'Run pre-update application hook', node: lead });
  const bootstrap = perNode('bootstrap', 'Bootstrap update operation on nodes', f.nodes, f, (n) => ({
    executor: 'bootstrap',
    description: `Bootstrap node "${n.name}"`,
    data: { leader: n === f.leader, runtime: f.input.target.runtime },
  }));
  root.addParallel(init, checks, preUpdate.require(init, checks), bootstrap.require(checks, preUpdate));

  // From here on every top-level phase requires the one before it, whichever are present.
  const chain: PhaseBuilder[] = [phase('coredns', { executor: 'coredns', description: 'Provision CoreDNS resources', node: lead })];
  const masters = masterGroups(f);
  if (masters.length > 0) chain.push(phase('masters', { description: 'Update master nodes' }).addParallel(...masters));
  const workers = workerGroups(f);
  if (workers.length > 0) {
    const parallel = workerParallel(workers.length, f.input.maxUnavailableWorkers);
    chain.push(phase('workers', { description: 'Update regular nodes', parallel }).addParallel(...workers));
  }
  if (f.etcd) chain.push(etcdPhases(f));
  chain.push(
    perNode('config', 'Update system configuration on nodes', f.masters, f, (n) => ({
      executor: 'config',
      description: `Update system configuration on node "${n.name}"`,
    })),
  );
  if (f.systemApps.length > 0) chain.push(appGroup('runtime', 'Update application runtime', f.systemApps, lead, 'system application'));
  chain.push(
    phase('migration', { description: 'Perform system database migration' }).addParallel(
      phase('labels', { executor: 'migrate-labels', description: 'Update node labels', node: lead }),
    ),
  );
  chain.push(appGroup('app', 'Update installed application', f.apps, lead, 'application'));
  chain.push(gcPhases(f));
  root.addSequential(...chain);
}

// Gravity 7: an upgrade that leaves runtime, system apps and etcd alone touches no node software.
function addAppOnlyPlan(root: PhaseBuilder, f: UpgradeFacts): void {
  const lead = f.leader.name;
  root.addSequential(
    checksPhase(f),
    phase('pre-update', { executor: 'pre-update', description: 'Run pre-update application hook', node: lead }),
    appGroup('app', 'Update installed application', f.apps, lead, 'application'),
    gcPhases(f),
  );
}

/** /checks carries the target's requirements so the check runs against what the new version needs. */
function checksPhase(f: UpgradeFacts): PhaseBuilder {
  const requirements = f.input.target.requirements;
  return phase('checks', {
    executor: 'checks',
    description: 'Run preflight checks',
    node: f.leader.name,
    ...(requirements ? { data: { requirements } } : {}),
  });
}

function gcPhases(f: UpgradeFacts): PhaseBuilder {
  return perNode('gc', 'Run cleanup tasks', f.nodes, f, (n) => ({ executor: 'gc', description: `Clean up node "${n.name}"` }));
}

/** A group with one independent child per node, each run on its own node. */
function perNode(
  key: string,
  description: string,
  nodes: NodeFacts[],
  f: UpgradeFacts,
  leaf: (n: NodeFacts) => { executor: string; description: string; data?: Record<string, unknown> },
): PhaseBuilder {
  const group = phase(key, { description, parallel: nodeParallel(nodes.length, f.input.parallel) });
  return group.addParallel(...nodes.map((n) => phase(n.name, { ...leaf(n), node: n.name, server: n.name })));
}

/** A chain of `update-app` leaves run from the lead master, one per package. */
function appGroup(key: string, description: string, updates: PackageUpdate[], lead: string, kind: string): PhaseBuilder {
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
