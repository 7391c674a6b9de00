/**
 * The cluster state read live from the agents: what each node has installed. The lead master's
 * record of the installed image is the cluster's; nodes that disagree are named, not guessed at.
 */
import type { FactsResult } from '../agent/actions/index.js';
import { manifestFromText } from '../config/load.js';
import type { ClusterConfig } from '../config/schema.js';
import type { ClusterFacts } from '../config/upgrade-input.js';
import { InputError } from '../errors.js';
import type { NodeAccess } from './node-access.js';

/** Gathers facts from every node's agent and turns them into the plan builder's cluster facts. */
export async function liveClusterFacts(
  inventory: ClusterConfig,
  nodes: Pick<NodeAccess, 'run'>,
  signal?: AbortSignal,
): Promise<ClusterFacts> {
  const names = inventory.spec.nodes.map((n) => n.name);
  const facts = new Map<string, FactsResult>();
  await Promise.all(names.map(async (n) => facts.set(n, await nodes.run<FactsResult>(n, 'facts', {}, { signal }))));
  const leader = inventory.spec.nodes.find((n) => n.role === 'master')!.name;
  const text = facts.get(leader)?.installed.manifest;
  if (!text) {
    throw new InputError(
      'ERR_STATE_UNKNOWN',
      `node ${leader} has no record of an installed cluster image (installed/app.yaml in its state dir)`,
      {
        node: leader,
        hint: 'install the cluster with its image first, or plan offline with --state FILE',
      },
    );
  }
  const installed = manifestFromText(text, `${leader}:installed/app.yaml`);
  const disagree = names.filter((n) => {
    const other = facts.get(n)?.installed.manifest;
    return other && other !== text;
  });
  if (disagree.length > 0) {
    throw new InputError('ERR_STATE_INCONSISTENT', `nodes ${disagree.join(', ')} record a different installed image than ${leader}`, {
      hint: 'a previous operation was left half-way; finish or roll it back, or plan with --state FILE',
    });
  }
  const nodeRuntimes: Record<string, string | undefined> = {};
  for (const n of names) {
    const runtime = facts.get(n)?.installed.runtime;
    if (runtime) nodeRuntimes[n] = `${installed.spec.runtime.package.split(':')[0]}:${runtime}`;
  }
  const nodeOs: Record<string, string | undefined> = {};
  for (const n of names) nodeOs[n] = facts.get(n)?.os?.release;
  const etcdVersion = facts.get(leader)?.installed.etcdVersion ?? undefined;
  return { inventory, installed, leader, nodeRuntimes, nodeOs, ...(etcdVersion ? { etcdVersion } : {}) };
}
