/** Bringing the agents up and down on every node, as `upgrade` and `agent deploy|shutdown` do. */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { type AgentArtifact, agentHello, deployAgent, type NodeIdentity, shutdownAgent } from '../agent/lifecycle.js';
import type { NodeSettings } from '../cluster/inventory.js';
import { ExitCode, HoistError, StateError } from '../errors.js';
import { packagePath } from '../package-root.js';
import { hoistVersion } from '../version.js';
import type { OperationEnv } from './env.js';

/** The bundle `npm run build` writes next to the compiled CLI. */
export function agentArtifact(): AgentArtifact {
  const file = packagePath('dist', 'agent', 'hoist-agent.mjs');
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

/** Who may restart or stop agents: the operation this state directory runs, and --force. */
export interface AgentTouch {
  /** Restart or stop even agents that run executions or serve another operation. */
  force?: boolean;
  /** The operation this state directory runs on the cluster; its own node leases are no obstacle. */
  operationId?: string;
  /** Restart agents that already run this build too (deploy keeps them otherwise). */
  restart?: boolean;
}

/**
 * Deploys agents on `only` (default: every node), in parallel; one result line per node as it
 * comes up. The caller holds the cluster lease. A node whose agent runs executions, or serves an
 * operation other than `touch.operationId`, is not restarted unless forced (see `refuseBusy`).
 * Resolves with the names of the nodes whose running agent was kept (it ran this build already).
 */
export async function deployAgents(env: OperationEnv, only?: NodeSettings[], touch: AgentTouch = {}): Promise<string[]> {
  const { nodes, pool } = await env.connect();
  const cluster = await env.clusterName();
  const artifact = agentArtifact();
  await refuseBusy(env, 'redeploy', only ?? nodes, touch);
  env.progress.line('Deploying agents on cluster nodes');
  const kept: string[] = [];
  const results = await settleBounded(only ?? nodes, DEPLOY_PARALLEL, async (node) => {
    // A signal of its own per node: the run's signal would otherwise collect a listener per
    // concurrent command of every node and warn of a leak.
    const signal = AbortSignal.any([env.signal]);
    const options = { signal, ...(touch.restart ? { restart: true } : {}) };
    const agent = await deployAgent(pool.get(node.name), node, artifact, identity(cluster, node, nodes), options);
    if (agent.kept) kept.push(node.name);
    env.nodeResult(`Deployed agent on ${node.name} (${node.address})`);
  });
  throwFirst(results);
  if (kept.length > 0) {
    env.progress.line(
      `${kept.length === 1 ? `The agent on ${kept[0]} ran` : `${kept.length} agents ran`} this build already and kept running (--restart restarts them)`,
    );
  }
  return kept;
}

/**
 * Nodes deployed at once. Every deploy ends in starting a Node.js process and waiting for its
 * hello; 53 of them at once on a 2-core sandbox host starved each other past the 20 s start
 * deadline, while a bounded pipeline keeps the uploads of some nodes overlapping the starts of others.
 */
const DEPLOY_PARALLEL = 8;

/** `fn` on every item, at most `limit` at once, each settled in item order (as Promise.allSettled). */
async function settleBounded<T>(items: T[], limit: number, fn: (item: T) => Promise<void>): Promise<PromiseSettledResult<void>[]> {
  const results: PromiseSettledResult<void>[] = new Array(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      try {
        results[i] = { status: 'fulfilled', value: await fn(items[i]!) };
      } catch (reason) {
        results[i] = { status: 'rejected', reason };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}

/**
 * Stops and removes the agent on every node; one result line per node. The caller holds the
 * cluster lease; `released` names a finished operation whose node leases are released first.
 */
export async function shutdownAgents(env: OperationEnv, touch: AgentTouch & { released?: string } = {}): Promise<void> {
  const { nodes, pool, agents } = await env.connect();
  if (touch.released) await releaseNodes(env, touch.released);
  await refuseBusy(env, 'shut down', nodes, touch.released ? { ...touch, operationId: touch.released } : touch);
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

/** Frees the nodes of a finished operation (best effort: an offline agent serves nothing). */
export async function releaseNodes(env: OperationEnv, operationId: string): Promise<void> {
  if (env.offline) return;
  await (await env.connect()).agents.release({ operationId, epoch: env.heldLease().epoch });
}

/**
 * Refuses to restart or stop agents that still work or belong to another operation: a restart
 * would cut running hooks and kubectl off, and a node serving another operation (another state
 * directory's, as k0sctl locks a host) is not ours to touch. Each node answers for itself.
 */
async function refuseBusy(env: OperationEnv, verb: string, targets: NodeSettings[], touch: AgentTouch): Promise<void> {
  if (touch.force) return;
  const { pool } = await env.connect();
  const problems: string[] = [];
  let code = 'ERR_AGENT_BUSY';
  // Bounded like the deploy: every hello may be the node's first SSH handshake, and 53 at once on
  // a loaded 2-core host ran past the 10 s handshake deadline.
  const asked = await settleBounded(targets, DEPLOY_PARALLEL, async (node) => {
    const info = await agentHello(pool.get(node.name), node);
    if (!info) return;
    const running = Object.entries(info.running ?? {});
    if (running.length > 0) problems.push(`${node.name} runs ${running.map(([id, phase]) => `execution ${id} (${phase})`).join(', ')}`);
    const lease = info.lease;
    if (lease && lease.operationId !== touch.operationId && Date.parse(lease.expires) > Date.now()) {
      code = 'ERR_AGENT_LEASE_HELD';
      const holder = lease.holder ? `, held by pid ${lease.holder.pid} on ${lease.holder.host}` : '';
      problems.push(`${node.name} serves operation ${lease.operationId}${holder} (epoch ${lease.epoch}, until ${lease.expires})`);
    }
  });
  throwFirst(asked);
  if (problems.length === 0) return;
  problems.sort();
  throw new StateError(code, `refusing to ${verb} the agents: ${problems.join('; ')}`, {
    hint:
      code === 'ERR_AGENT_LEASE_HELD'
        ? 'another operation owns these nodes: finish it from the state directory that created it, or pass --force if it is abandoned'
        : 'let the executions finish ("hoist plan resume"), cancel them ("hoist plan cancel --phase P"), or pass --force',
  });
}

/** The first failure in node order, with the others as details. */
function throwFirst(results: PromiseSettledResult<unknown>[]): void {
  const failures = results.flatMap((r) => (r.status === 'rejected' ? [r.reason as unknown] : []));
  if (failures.length === 0) return;
  const [first, ...rest] = failures;
  if (HoistError.isHoistError(first)) first.details.push(...rest.map((e) => (e instanceof Error ? e.message : String(e))));
  throw first;
}

/** Failures that mean "this node cannot be reached now", as opposed to a node that refuses us. */
const UNREACHABLE = new Set(['ERR_SSH_UNREACHABLE', 'ERR_SSH_TIMEOUT', 'ERR_SSH_DISCONNECTED']);

/**
 * Before phases run: every node must have a live agent. Offline ones (shut down, node
 * rebooted) are deployed again, naming them on stderr; the caller holds the cluster lease. A node
 * that cannot be reached at all is left alone: its own phases fail naming it (exit 5), and the
 * other nodes' phases still run.
 */
export async function redeployOfflineAgents(env: OperationEnv, operationId: string): Promise<string[]> {
  const { nodes, pool } = await env.connect();
  const alive = await Promise.all(nodes.map(async (node) => (await agentHello(pool.get(node.name), node)) !== undefined));
  const offline = nodes.filter((_n, i) => !alive[i]);
  if (offline.length === 0) return [];
  const reached = await Promise.all(
    offline.map(async (node) => {
      try {
        await pool.get(node.name).exec('true', { check: true, signal: env.signal });
        return true;
      } catch (err) {
        if (HoistError.isHoistError(err) && UNREACHABLE.has(err.code)) return false;
        throw err;
      }
    }),
  );
  const unreachable = offline.filter((_n, i) => !reached[i]);
  const redeploy = offline.filter((_n, i) => reached[i]);
  if (unreachable.length > 0) {
    env.progress.line(
      `Cannot reach ${unreachable.map((n) => `${n.name} (${n.address})`).join(', ')}: phases on ${unreachable.length === 1 ? 'it' : 'them'} fail until ${unreachable.length === 1 ? 'it is' : 'they are'} back`,
    );
  }
  if (redeploy.length === 0) return [];
  env.progress.line(`Agents offline on ${redeploy.map((n) => `${n.name} (${n.address})`).join(', ')}: deploying them again`);
  await deployAgents(env, redeploy, { operationId });
  return redeploy.map((n) => n.name);
}
