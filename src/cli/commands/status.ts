/** `hoist status [-o json]`: the cluster, its active operation's progress, or its last operation. */
import type { Command } from 'commander';
import { StateError } from '../../errors.js';
import { PlanState } from '../../fsm/plan-state.js';
import { readCluster } from '../../operation/reconcile.js';
import { tally } from '../../operation/tally.js';
import type { ClusterRecord } from '../../store/store.js';
import type { Context } from '../context.js';
import { renderStatus, type StatusInfo, statusDocument } from '../render/status.js';
import type { Action } from './shared.js';

/** Registers `status`. */
export function registerStatus(program: Command, run: Action): void {
  program
    .command('status')
    .description('show the cluster status, the installed version and the active or last operation')
    .action((_o: unknown, cmd: Command) => run(cmd, (ctx) => status(ctx)));
}

async function status(ctx: Context): Promise<void> {
  const name = await ctx.clusterName();
  const store = ctx.store();
  // The cluster record as the operations call for it; a disagreement left by a crash is named.
  const derived = await readCluster(store, name);
  for (const r of derived.repairs) ctx.progress.line(`Records disagree (the next command that takes the lock repairs them): ${r}.`);
  let cluster: ClusterRecord | undefined = derived.record;
  if (!cluster) {
    // Never upgraded by hoist: the offline state (if given) says what is installed.
    const state = ctx.clusterState();
    if (!state) {
      throw new StateError('ERR_CLUSTER_UNKNOWN', `no record of cluster "${name}" in ${ctx.stateDir()}`, {
        hint: 'pass --state FILE to describe it, or start an operation with "hoist upgrade"',
      });
    }
    const s = await state;
    cluster = {
      name,
      status: 'active',
      image: { name: s.installed.manifest.metadata.name, version: s.installed.manifest.metadata.version },
      updated: new Date().toISOString(),
    };
  }
  const info: StatusInfo = { cluster };
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
