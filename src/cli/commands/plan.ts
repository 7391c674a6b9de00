/** `hoist plan [display]`, `plan execute|rollback|resume|complete`. */
import type { Command } from 'commander';
import { StateError, UsageError } from '../../errors.js';
import { finishOperation } from '../../operation/finish.js';
import { type PhaseAction, runPhases } from '../../operation/run.js';
import { findPhase } from '../../plan/query.js';
import { printable } from '../../text.js';
import type { Context } from '../context.js';
import { renderPlan } from '../render/plan-table.js';
import { refuseEvents, withEvents, withEventsOption } from './events.js';
import { tailPlan } from './plan-tail.js';
import type { Action } from './shared.js';

/** Registers `plan` and its subcommands. */
export function registerPlan(program: Command, run: Action): void {
  const plan = program
    .command('plan')
    .description('show the plan of the active (or last) operation, or act on its phases')
    .option('--operation-id <id>', 'operation to act on (default: the active one, for display the last one)')
    .option('-f, --tail', 'follow the plan: one line per phase change until it completes, rolls back or fails');
  withEventsOption(plan);
  const display = (cmd: Command) => run(cmd, (ctx) => showPlan(ctx, !!(cmd.optsWithGlobals() as { tail?: boolean }).tail));
  plan.action((_o: unknown, cmd: Command) => display(cmd));
  plan
    .command('display', { hidden: true })
    .description('show the plan (same as "hoist plan")')
    .action((_o: unknown, cmd: Command) => display(cmd));

  plan
    .command('execute')
    .description('execute a phase (a group runs its children); --phase / runs the whole plan')
    .requiredOption('--phase <id>', 'phase id, e.g. /masters/node-1/drain')
    .option('--force', 'run a single phase even if it is in progress or its requirements are not completed')
    .action((o: { phase: string; force?: boolean }, cmd: Command) =>
      run(cmd, (ctx) => onPlan(ctx, { kind: 'execute', phase: checkId(o.phase), force: !!o.force })),
    );
  plan
    .command('rollback')
    .description('roll back a phase (a group rolls back its started children, newest first)')
    .requiredOption('--phase <id>', 'phase id, e.g. /masters/node-2/system-upgrade')
    .option('--force', 'roll back even though phases that depend on it are still applied')
    .action((o: { phase: string; force?: boolean }, cmd: Command) =>
      run(cmd, (ctx) => onPlan(ctx, { kind: 'rollback', phase: checkId(o.phase), force: !!o.force })),
    );
  plan
    .command('cancel')
    .description("stop an in-progress phase's node work (hooks, kubectl: the whole process group) and record it failed")
    .requiredOption('--phase <id>', 'phase id, e.g. /masters/node-1/drain')
    .action((o: { phase: string }, cmd: Command) =>
      run(cmd, (ctx) => {
        refuseEvents(ctx, 'hoist plan cancel');
        return onPlan(ctx, { kind: 'cancel', phase: checkId(o.phase) });
      }),
    );
  plan
    .command('resume')
    .description('run the whole plan in order: completed phases are skipped, failed and interrupted ones re-run')
    .option('--force', 'take the cluster lease over even from a holder that looks alive (you know it is gone); it can write nothing more')
    .action((o: { force?: boolean }, cmd: Command) => run(cmd, (ctx) => onPlan(ctx, { kind: 'resume', force: !!o.force })));
  plan
    .command('complete')
    .description('finish the operation: completed if every phase completed, failed if nothing is applied')
    .option('--force', 'close a partly applied operation as failed (the cluster stays partly upgraded)')
    .action((o: { force?: boolean }, cmd: Command) =>
      run(cmd, (ctx) => {
        refuseEvents(ctx, 'hoist plan complete');
        return complete(ctx, !!o.force);
      }),
    );
}

function checkId(id: string): string {
  if (!id.startsWith('/')) {
    throw new UsageError('ERR_USAGE_PHASE_ID', `phase id "${printable(id, 200)}" must be an absolute path starting with "/"`, {
      hint: `did you mean /${printable(id, 200)}?`,
    });
  }
  return id.length > 1 ? id.replace(/\/+$/, '') : id;
}

async function showPlan(ctx: Context, tail: boolean): Promise<void> {
  if (tail) return withEvents(ctx, async () => tailPlan(ctx, await ctx.operation({ allowFinished: true })));
  refuseEvents(ctx, 'hoist plan');
  const op = await ctx.operation({ allowFinished: true });
  const { view } = await ctx.planOf(op);
  ctx.out(renderPlan(view, ctx.globals.output, op, undefined, await ctx.takeoverDuring(op)));
}

/**
 * Runs a phase action on the active operation (or --operation-id). What the command line alone
 * can refuse is refused before the lease is taken: a run under --state, a phase not in the plan.
 */
async function onPlan(ctx: Context, action: PhaseAction): Promise<void> {
  return action.kind === 'cancel' ? actOnPlan(ctx, action) : withEvents(ctx, () => actOnPlan(ctx, action));
}

async function actOnPlan(ctx: Context, action: PhaseAction): Promise<void> {
  if (ctx.offline && action.kind !== 'cancel') {
    throw new UsageError('ERR_USAGE_OFFLINE', `"hoist plan ${action.kind}" runs phases on the nodes, but --state plans offline`, {
      hint: 'give the inventory instead (-c FILE); under --state, "hoist plan" shows the plan and "hoist plan complete" closes it',
    });
  }
  if ('phase' in action && action.phase !== '/') {
    const op = await ctx.operation();
    if (!findPhase((await ctx.store().getPlan(op.cluster, op.id)).phases, action.phase)) {
      throw new StateError('ERR_PHASE_NOT_FOUND', `phase "${action.phase}" not found in the plan of operation ${op.id}`, {
        phase: action.phase,
        hint: 'run "hoist plan" to see the phase ids of the operation',
      });
    }
  }
  const id = await ctx.operationIdArg();
  const ref = { cluster: await ctx.clusterName(), ...(id ? { id } : {}) };
  const outcome = await runPhases(ctx, ref, action);
  const done = outcome.completion;
  if (ctx.json) {
    ctx.outJson({
      operation: outcome.operation,
      phase: outcome.phase,
      state: outcome.state,
      ...(done ? { operationState: done.operation.state, installedVersion: done.cluster.image.version } : {}),
    });
  } else if (done) {
    ctx.out(
      `Operation ${done.operation.id} ${done.operation.state}; cluster ${done.cluster.name} is ${done.cluster.status} at ${done.cluster.image.version}.\n`,
    );
  }
}

async function complete(ctx: Context, force: boolean): Promise<void> {
  const id = await ctx.operationIdArg();
  const ref = { cluster: await ctx.clusterName(), ...(id ? { id } : {}) };
  const done = await finishOperation(ctx, ref, { force });
  if (ctx.json)
    ctx.outJson({
      operation: done.operation.id,
      state: done.operation.state,
      cluster: done.cluster.name,
      status: done.cluster.status,
      installedVersion: done.cluster.image.version,
      ...(done.repairs.length > 0 ? { repaired: done.repairs } : {}),
    });
  else
    ctx.out(
      `Operation ${done.operation.id} marked ${done.operation.state}; cluster ${done.cluster.name} is ${done.cluster.status} at ${done.cluster.image.version}.\n`,
    );
}
