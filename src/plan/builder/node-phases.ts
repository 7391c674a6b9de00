/**
 * Per-node update sequences under `/masters` and `/workers` (spec §6.5). Kubernetes API work
 * (drain, taint, uncordon, endpoints, untaint, kubelet permissions) runs on the lead master and is
 * about the node; runtime and election work runs on the node itself.
 */

import { parseLocator } from '../names.js';
import type { ExecutorKey } from '../phase-data.js';
import type { NodeFacts } from './input.js';
import { type PhaseBuilder, phase } from './tree.js';
import { nodeOs, nodeRuntime, osChanges, runtimeChanges, type UpgradeFacts } from './upgrade-facts.js';

type Step = (f: UpgradeFacts, n: NodeFacts) => PhaseBuilder;

// Phases the lead master runs against the Kubernetes API on behalf of node `n`.
const onLeader =
  (key: ExecutorKey, description: string, data?: Record<string, unknown>): Step =>
  (f, n) =>
    phase(key, { executor: key, description, node: f.leader.name, server: n.name, ...(data ? { data } : {}) });

const kubeletPermissions: Step = (f, n) => onLeader('kubelet-permissions', `Add permissions to kubelet on "${n.name}"`)(f, n);
const drain: Step = (f, n) => onLeader('drain', `Drain node "${n.name}"`)(f, n);
const taint: Step = (f, n) => onLeader('taint', `Taint node "${n.name}"`)(f, n);
const uncordon: Step = (f, n) => onLeader('uncordon', `Uncordon node "${n.name}"`)(f, n);
// Workers wait for their own DNS endpoints too, so the executor needs the role.
const endpoints: Step = (f, n) => onLeader('endpoints', `Wait for DNS/cluster endpoints on "${n.name}"`, { role: n.role })(f, n);
const untaint: Step = (f, n) => onLeader('untaint', `Remove taint from node "${n.name}"`)(f, n);

const stepdown: Step = (_f, n) =>
  phase('stepdown', {
    executor: 'stepdown',
    description: `Step down "${n.name}" as Kubernetes leader`,
    node: n.name,
    server: n.name,
    data: { disable: [n.name] },
  });

const systemUpgrade: Step = (f, n) =>
  phase('system-upgrade', {
    executor: 'system-upgrade',
    description: `Update system software on node "${n.name}"`,
    node: n.name,
    server: n.name,
    data: { from: nodeRuntime(f.input, n), to: f.input.target.runtime },
  });

/** Writes the OS image into the node's inactive slot, boots it once on trial and waits for the node. */
const osUpgrade: Step = (f, n) =>
  phase('os-upgrade', {
    executor: 'os-upgrade',
    description: `Upgrade the OS of node "${n.name}" and reboot it`,
    node: n.name,
    server: n.name,
    data: {
      from: nodeOs(f.input, n) ?? 'unknown',
      to: f.input.target.os!.package,
      assessment: f.input.target.os!.assessment,
      ...(f.input.target.os!.rebootTimeoutSeconds === undefined ? {} : { rebootTimeoutSeconds: f.input.target.os!.rebootTimeoutSeconds }),
    },
  });

/** Waits for the node's verdict on its trial boot: a pass makes the slot permanent. */
const bootAssessment: Step = (f, n) =>
  phase('boot-assessment', {
    executor: 'boot-assessment',
    description: `Assess the boot of node "${n.name}"`,
    node: n.name,
    server: n.name,
    data: {
      release: parseLocator(f.input.target.os!.package, 'target.os.package').version,
      timeoutSeconds: f.input.target.os!.assessment.timeoutSeconds,
    },
  });

const health: Step = (_f, n) =>
  phase('health', { executor: 'health', description: `Health check node "${n.name}"`, node: n.name, server: n.name });

/**
 * The upgraded lead takes the Kubernetes leadership and keeps it until each other master is on
 * the new runtime. Only masters still to be updated are disabled: one already upgraded (a
 * partly-upgraded cluster) would otherwise never get its election back.
 */
const electLeader: Step = (f, n) =>
  phase('elect', {
    executor: 'elect',
    description: `Make node "${n.name}" Kubernetes leader`,
    node: n.name,
    server: n.name,
    data: { enable: n.name, disable: f.mastersToUpdate.filter((m) => m !== n).map((m) => m.name) },
  });

const enableElection: Step = (_f, n) =>
  phase('elect', {
    executor: 'elect',
    description: `Enable leader election on node "${n.name}"`,
    node: n.name,
    server: n.name,
    data: { enable: n.name },
  });

const nodeActions =
  (key: 'pre-actions' | 'post-actions', stage: 'preUpgrade' | 'postUpgrade'): Step =>
  (f, n) =>
    phase(key, {
      executor: key,
      description: `Run ${stage === 'preUpgrade' ? 'pre-upgrade' : 'post-upgrade'} actions on node "${n.name}"`,
      node: n.name,
      server: n.name,
      data: { stage, actions: f.input.target.nodeActions![stage] },
    });

const LEAD_MASTER: Step[] = [kubeletPermissions, stepdown, drain, systemUpgrade, electLeader, health, taint, uncordon, untaint];
const OTHER_MASTER: Step[] = [drain, systemUpgrade, enableElection, health, taint, uncordon, endpoints, untaint];
const WORKER: Step[] = [drain, systemUpgrade, health, taint, uncordon, endpoints, untaint];

/**
 * What the node itself needs: an OS change adds the reboot into the new slot and its assessment
 * right after the drain; a node whose runtime is already the target's skips system-upgrade.
 */
function forNode(f: UpgradeFacts, n: NodeFacts, steps: Step[]): Step[] {
  const out = runtimeChanges(f.input, n) ? [...steps] : steps.filter((s) => s !== systemUpgrade);
  if (osChanges(f.input, n)) out.splice(out.indexOf(drain) + 1, 0, osUpgrade, bootAssessment);
  return out;
}

/**
 * A node's sequence with the image's per-node actions: `pre-actions` first, before anything
 * touches the node, and `post-actions` once it is healthy again, before it takes work back.
 */
function withActions(f: UpgradeFacts, steps: Step[]): Step[] {
  const actions = f.input.target.nodeActions;
  if (!actions) return steps;
  const out = [...steps];
  if (actions.postUpgrade.length > 0) out.splice(out.indexOf(health) + 1, 0, nodeActions('post-actions', 'postUpgrade'));
  if (actions.preUpgrade.length > 0) out.unshift(nodeActions('pre-actions', 'preUpgrade'));
  return out;
}

/** One chained group per master to update, lead first; each group requires the previous one. */
export function masterGroups(f: UpgradeFacts): PhaseBuilder[] {
  const single = f.masters.length === 1;
  const groups: PhaseBuilder[] = [];
  for (const m of f.mastersToUpdate) {
    const steps = withActions(f, forNode(f, m, single ? WORKER : m === f.leader ? LEAD_MASTER : OTHER_MASTER));
    const group = phase(m.name, { description: `Update system software on master node "${m.name}"` });
    group.addSequential(...steps.map((step) => step(f, m)));
    const previous = groups.at(-1);
    if (previous) group.require(previous);
    groups.push(group);
  }
  return groups;
}

/** One chained group per worker to update; workers do not wait for each other. */
export function workerGroups(f: UpgradeFacts): PhaseBuilder[] {
  return f.workersToUpdate.map((w) =>
    phase(w.name, { description: `Update system software on node "${w.name}"` }).addSequential(
      ...withActions(f, forNode(f, w, WORKER)).map((step) => step(f, w)),
    ),
  );
}
