/**
 * The upgrade's health gate (Gravity's "upgrade is prohibited because some cluster nodes are
 * currently degraded"): before an operation is created every node is probed; a degraded node
 * refuses the upgrade (exit 4) naming the node and the failed probe, unless `--force`, which goes
 * on with a warning that the operation records.
 */
import { clusterHealth, readNodes } from '../cluster/node-status.js';
import { StateError } from '../errors.js';
import { agentArtifact } from './agents.js';
import type { OperationEnv } from './env.js';
import { healthTransitions, recordHistory } from './history.js';

/** Lines naming every failed probe, `node-2: runtime-health: <message>`. */
export type GateWarnings = string[];

/** Probes every node; throws ERR_CLUSTER_DEGRADED unless healthy or `force`; returns the overridden failures. */
export async function healthGate(env: OperationEnv, force: boolean): Promise<GateWarnings> {
  const { nodes, agents, pool } = await env.connect();
  const health = clusterHealth(await readNodes({ nodes, agents, pool, artifact: agentArtifact, signal: env.signal }));
  const cluster = await env.clusterName();
  const names = nodes.map((n) => n.name);
  await recordHistory(env, cluster, ...(await healthTransitions(env.store(), cluster, health, names).catch(() => [])));
  if (health.state === 'healthy') return [];
  const lines = health.failures.map((f) => `${f.node}: ${f.probe}: ${f.message}`);
  if (!force) {
    const first = health.failures[0]!;
    const err = new StateError(
      'ERR_CLUSTER_DEGRADED',
      `upgrade is prohibited because some cluster nodes are currently degraded: ${health.failures.map((f) => `${f.node} (${f.probe})`).join(', ')}`,
      { node: first.node, hint: 'fix the nodes ("hoist status" shows every probe), or pass --force to upgrade anyway' },
    );
    err.details.push(...lines);
    throw err;
  }
  const warnings = lines.map((l) => `upgrade forced past a degraded node: ${l}`);
  for (const w of warnings) env.progress.line(`warning: ${w}`);
  // The warnings above are the record (operation and history); the debug log keeps the detail.
  env.logger.debug({ event: 'health.gate.forced', failures: health.failures }, 'upgrade forced past degraded nodes');
  return warnings;
}
