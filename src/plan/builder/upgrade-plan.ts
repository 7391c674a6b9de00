/**
 * The upgrade plan builder: cluster facts + target image → phase tree, in Gravity 7's layout
 * (spec §6.2) with hoist's fixes: a complete requirement DAG, bounded parallel groups, and the
 * resolved node on every phase. Pure: identity and time come in with the input.
 */
import type { Plan } from '../types.js';
import { checkUpgradeGates } from './gates.js';
import { upgradeHops } from './hops.js';
import type { UpgradeInput } from './input.js';
import { addMultiHopPlan } from './multi-hop.js';
import { appGroup, bootstrapPhase, checksPhase, closingPhases, gcPhases, preamble, preUpdatePhase, stagePhases } from './stage-phases.js';
import { type PhaseBuilder, planRoot } from './tree.js';
import { gatherFacts, needsFullPlan, type UpgradeFacts } from './upgrade-facts.js';
import { validatePlan } from './validate.js';

export { checkUpgradeGates } from './gates.js';

/** Builds the plan of an upgrade; throws InputError when a gate refuses it. */
export function buildUpgradePlan(input: UpgradeInput): Plan {
  checkUpgradeGates(input);
  const facts = gatherFacts(input);
  const root = planRoot();
  const hops = upgradeHops(input.installed, input.target);
  if (hops.length > 0) addMultiHopPlan(root, facts, hops);
  else if (needsFullPlan(facts)) addFullPlan(root, facts);
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
  const { init, checks, preUpdate } = preamble(f);
  root.addParallel(init, checks, preUpdate, bootstrapPhase(f).require(checks, preUpdate));
  // From here on every top-level phase requires the one before it, whichever are present.
  root.addSequential(...stagePhases(f, true), ...closingPhases(f));
}

// Gravity 7: an upgrade that leaves runtime, system apps and etcd alone touches no node software.
function addAppOnlyPlan(root: PhaseBuilder, f: UpgradeFacts): void {
  const { apps } = f;
  root.addSequential(
    checksPhase(f),
    preUpdatePhase(f),
    appGroup('app', 'Update installed application', apps, f.leader.name, 'application'),
    gcPhases(f),
  );
}
