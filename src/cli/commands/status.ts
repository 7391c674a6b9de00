/** `hoist status [-o json]`: the cluster, its active operation's progress, or its last operation. */
import type { Command } from 'commander';
import { clusterHealth, type NodeStatus, readNodes } from '../../cluster/node-status.js';
import { manifestFromText } from '../../config/load.js';
import { StateError } from '../../errors.js';
import { PlanState } from '../../fsm/plan-state.js';
import { agentArtifact } from '../../operation/agents.js';
import { healthTransitions, recordHistory } from '../../operation/history.js';
import { readCluster } from '../../operation/reconcile.js';
import { tally } from '../../operation/tally.js';
import type { ClusterRecord } from '../../store/store.js';
import type { Context } from '../context.js';
import { renderHistory } from '../render/history.js';
import { renderStatus, type StatusInfo, statusDocument } from '../render/status.js';
import type { Action } from './shared.js';

/** Registers `status`. */
export function registerStatus(program: Command, run: Action): void {
  program
    .command('status')
    .description('show the cluster status and health, its nodes read live, and the active or last operation')
    .action((_o: unknown, cmd: Command) => run(cmd, (ctx) => status(ctx)))
    .command('history')
    .description('list what happened to the cluster, oldest first: operations, failed phases, node health, overrides, takeovers')
    .action((_o: unknown, cmd: Command) => run(cmd, (ctx) => history(ctx)));
}

async function history(ctx: Context): Promise<void> {
  const events = await ctx.store().readHistory(await ctx.clusterName());
  if (ctx.json) ctx.outJson({ events });
  else ctx.out(renderHistory(events));
}

async function status(ctx: Context): Promise<void> {
  const name = await ctx.clusterName();
  const store = ctx.store();
  // The cluster record as the operations call for it; a disagreement left by a crash is named.
  const derived = await readCluster(store, name);
  for (const r of derived.repairs) ctx.progress.line(`Records disagree (the next command that takes the lock repairs them): ${r}.`);
  // --state contacts no node; otherwise the nodes are read live, with or without an operation.
  const nodes = ctx.offline ? undefined : await readLiveNodes(ctx);
  let cluster: ClusterRecord | undefined = derived.record;
  if (!cluster) cluster = await unrecordedCluster(ctx, name, nodes);
  const info: StatusInfo = { cluster, ...(nodes ? { nodes, health: clusterHealth(nodes) } : {}) };
  if (nodes && info.health) {
    // What this look saw that the history does not know yet (a read-only command records it too).
    const seen = await healthTransitions(
      store,
      name,
      info.health,
      nodes.map((n) => n.name),
    ).catch(() => []);
    await recordHistory(ctx, name, ...seen);
  }
  if (!derived.record) info.noOperation = true;
  if (cluster.activeOperation) {
    const op = await store.getOperation(name, cluster.activeOperation);
    const { plan, changes } = await ctx.planOf(op);
    info.active = { operation: op, progress: tally(new PlanState(plan, changes)) };
    const takeover = await ctx.takeoverDuring(op);
    if (takeover) info.takeover = takeover;
  } else if (cluster.lastOperation) {
    info.last = await store.getOperation(name, cluster.lastOperation);
  }
  if (ctx.json) ctx.outJson(statusDocument(info));
  else ctx.out(renderStatus(info));
}

async function readLiveNodes(ctx: Context): Promise<NodeStatus[]> {
  const { nodes, agents, pool } = await ctx.connect();
  return readNodes({ nodes, agents, pool, artifact: agentArtifact, signal: ctx.signal });
}

/**
 * A cluster hoist never upgraded: what is installed comes from the offline state if given, else
 * from the lead master's record read just now.
 */
async function unrecordedCluster(ctx: Context, name: string, nodes: NodeStatus[] | undefined): Promise<ClusterRecord> {
  const updated = new Date().toISOString();
  const state = ctx.clusterState();
  if (state) {
    const s = await state;
    return {
      name,
      status: 'active',
      image: { name: s.installed.manifest.metadata.name, version: s.installed.manifest.metadata.version },
      updated,
    };
  }
  const lead = nodes?.find((n) => n.role === 'master' && n.manifest);
  if (!lead?.manifest) {
    throw new StateError(
      'ERR_CLUSTER_UNKNOWN',
      `no record of cluster "${name}" in ${ctx.stateDir()} and no master answered with its installed image`,
      {
        hint: 'bring a master back (see the node lines above with --debug), or pass --state FILE to describe the cluster',
      },
    );
  }
  const manifest = manifestFromText(lead.manifest, `${lead.name}:installed/app.yaml`);
  return { name, status: 'active', image: { name: manifest.metadata.name, version: manifest.metadata.version }, updated };
}
