/**
 * The etcd block (spec §6.6) through the runtime's etcd hooks: backup on every master, shutdown,
 * upgrade to a fresh data dir, restore the lead's backup, restart (the others join the lead).
 * Rollbacks re-enable the previous etcd with its untouched data.
 */
import type { Executor, PhaseContext } from '../fsm/executor.js';
import { addressOf, dataOf, nodeOf, type PhaseDeps } from './deps.js';
import { runCurrentHook } from './runtime-hooks.js';

type Step = (deps: PhaseDeps, ctx: PhaseContext, node: string) => Promise<void>;

function hook(name: string, args: (ctx: PhaseContext) => string[] = () => []): Step {
  return (deps, ctx, node) => runCurrentHook(deps, ctx, node, name, args(ctx));
}

const nothing: Step = async (_deps, ctx) => {
  ctx.logger.info({ event: 'etcd.rollback' }, `${ctx.phase.id} leaves nothing to undo`);
};

function executor(deps: PhaseDeps, execute: Step, rollback: Step, what: string): Executor {
  return {
    execute: (ctx) => execute(deps, ctx, nodeOf(ctx)),
    rollback: (ctx) => rollback(deps, ctx, nodeOf(ctx)),
    describe: (ctx) => `${what} on ${ctx.phase.node}`,
  };
}

/** `etcd-backup`: snapshot the member's data (kept; nothing to undo). */
export const etcdBackupExecutor = (deps: PhaseDeps): Executor => executor(deps, hook('etcd-backup'), nothing, 'back up etcd');
/** `etcd-shutdown`: stop the member (the API outage begins); rollback starts it again. */
export const etcdShutdownExecutor = (deps: PhaseDeps): Executor => executor(deps, hook('etcd-disable'), hook('etcd-enable'), 'stop etcd');
/** `etcd-upgrade`: switch to the new version and an empty data dir; rollback switches back. */
export const etcdUpgradeExecutor = (deps: PhaseDeps): Executor =>
  executor(
    deps,
    hook('etcd-upgrade', (ctx) => [dataOf('etcd-upgrade', ctx).to]),
    hook('etcd-rollback'),
    'upgrade etcd',
  );
/** `etcd-restore`: load the lead's backup into its new data dir. */
export const etcdRestoreExecutor = (deps: PhaseDeps): Executor => executor(deps, hook('etcd-restore'), nothing, 'restore etcd data');
/** `etcd-restart`: start the member (others join the lead); rollback stops it. */
export const etcdRestartExecutor = (deps: PhaseDeps): Executor =>
  executor(
    deps,
    hook('etcd-enable', (ctx) =>
      dataOf('etcd-restart', ctx).leader || ctx.phase.node === ctx.plan.leader ? [] : [addressOf(ctx, ctx.plan.leader)],
    ),
    hook('etcd-disable'),
    'start etcd',
  );
