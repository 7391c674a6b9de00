/** Bringing the agents up and down on every node, as `upgrade` and `agent deploy|shutdown` do. */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { type AgentArtifact, deployAgent, type NodeIdentity, shutdownAgent } from '../agent/lifecycle.js';
import type { NodeSettings } from '../cluster/inventory.js';
import { ExitCode, HoistError } from '../errors.js';
import { hoistVersion } from '../version.js';
import type { OperationEnv } from './env.js';

/** The bundle `npm run build` writes next to the compiled CLI. */
export function agentArtifact(): AgentArtifact {
  const file = fileURLToPath(new URL('../agent/hoist-agent.mjs', import.meta.url));
  if (!existsSync(file)) {
    throw new HoistError('ERR_AGENT_BUNDLE_MISSING', `the agent bundle ${file} is missing`, ExitCode.unexpected, {
      hint: 'build hoist first: npm run build',
    });
  }
  return { path: file, sha256: createHash('sha256').update(readFileSync(file)).digest('hex'), version: hoistVersion() };
}

function identity(cluster: string, node: NodeSettings, nodes: NodeSettings[]): NodeIdentity {
  const masters = nodes.filter((n) => n.role === 'master').map((n) => ({ name: n.name, address: n.address }));
  return { cluster, name: node.name, address: node.address, role: node.role, masters };
}

/** Deploys agents on `only` (default: every node), in parallel; one result line per node as it comes up. */
export async function deployAgents(env: OperationEnv, only?: NodeSettings[]): Promise<void> {
  const { nodes, pool } = await env.connect();
  const cluster = await env.clusterName();
  const artifact = agentArtifact();
  env.progress.line('Deploying agents on cluster nodes');
  const results = await Promise.allSettled(
    (only ?? nodes).map(async (node) => {
      await deployAgent(pool.get(node.name), node, artifact, identity(cluster, node, nodes), env.signal);
      env.nodeResult(`Deployed agent on ${node.name} (${node.address})`);
    }),
  );
  throwFirst(results);
}

/** Stops and removes the agent on every node; one result line per node. */
export async function shutdownAgents(env: OperationEnv): Promise<void> {
  const { nodes, pool, agents } = await env.connect();
  // This run's own agent connections close first, so none of them is cut off by the shutdown.
  await agents.disconnect();
  env.progress.line('Shutting down the agents');
  const results = await Promise.allSettled(
    nodes.map(async (node) => {
      await shutdownAgent(pool.get(node.name), node, env.signal);
      env.nodeResult(`Shut down agent on ${node.name} (${node.address})`);
    }),
  );
  throwFirst(results);
}

/** The first failure in node order, with the others as details. */
function throwFirst(results: PromiseSettledResult<unknown>[]): void {
  const failures = results.flatMap((r) => (r.status === 'rejected' ? [r.reason as unknown] : []));
  if (failures.length === 0) return;
  const [first, ...rest] = failures;
  if (HoistError.isHoistError(first)) first.details.push(...rest.map((e) => (e instanceof Error ? e.message : String(e))));
  throw first;
}
