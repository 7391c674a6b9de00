/**
 * The multi-hop layout (spec §6.7): /init, /checks, /pre-update, then one group per intermediate
 * version named by it (bootstrap, masters, workers, [etcd], config), then /target (the direct
 * layout's stage), then /migration, /app, /gc; every group requires the one before it. Each stage
 * sees the nodes' runtimes and the etcd version the previous stage left, so a node is updated
 * only from the version it will really run, and etcd moves once per version change.
 */

import type { ImageFacts, IntermediateFacts, UpgradeInput } from './input.js';
import { bootstrapPhase, closingPhases, preamble, stagePhases } from './stage-phases.js';
import { type PhaseBuilder, phase } from './tree.js';
import { gatherFacts, nodeRuntime, type UpgradeFacts } from './upgrade-facts.js';

/** Adds the multi-hop layout through `hops` (oldest first) to `root`. */
export function addMultiHopPlan(root: PhaseBuilder, f: UpgradeFacts, hops: IntermediateFacts[]): void {
  const { init, checks, preUpdate } = preamble(f);
  root.addParallel(init, checks, preUpdate);
  const runtimes = new Map(f.input.nodes.map((n) => [n.name, nodeRuntime(f.input, n)]));
  let etcd = f.input.etcdVersion ?? f.input.installed.etcdVersion;
  const stages: PhaseBuilder[] = [];
  for (const hop of hops) {
    const target: ImageFacts = {
      ...f.input.target,
      version: hop.version,
      runtime: hop.runtime,
      etcdVersion: hop.etcdVersion,
      // Only the runtime travels with an intermediate version; system apps move once, in /target.
      systemApps: f.input.installed.systemApps,
      appDependencies: f.input.installed.appDependencies,
    };
    const hf = gatherFacts(stageInput(f.input, runtimes, etcd, target));
    const group = phase(hop.version, { description: `Upgrade to intermediate version ${hop.version}` });
    stages.push(group.addSequential(bootstrapPhase(hf), ...stagePhases(hf, false)));
    for (const n of [...hf.mastersToUpdate, ...hf.workersToUpdate]) runtimes.set(n.name, hop.runtime);
    etcd = hf.etcd?.to ?? etcd;
  }
  const tf = gatherFacts(stageInput(f.input, runtimes, etcd, f.input.target));
  const last = phase('target', { description: `Upgrade to version ${f.input.target.version}` });
  stages.push(last.addSequential(bootstrapPhase(tf), ...stagePhases(tf, true)));
  stages[0]!.require(checks);
  root.addSequential(...stages, ...closingPhases(f));
}

function stageInput(input: UpgradeInput, runtimes: Map<string, string>, etcd: string, target: ImageFacts): UpgradeInput {
  return { ...input, nodes: input.nodes.map((n) => ({ ...n, runtime: runtimes.get(n.name)! })), etcdVersion: etcd, target };
}
