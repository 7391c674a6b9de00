/** `hoist plan [display]`, `plan execute|rollback|resume|complete`. */
import type { Command } from 'commander';
import { StateError, UsageError } from '../../errors.js';
import { finishOperation } from '../../operation/finish.js';
import {
  checkOverride,
  type OverrideRequest,
  overridePhase,
  refuseGroup,
  SETTABLE_STATES,
  type SettableState,
} from '../../operation/override.js';
import { type PhaseAction, runPhases } from '../../operation/run.js';
import { findPhase } from '../../plan/query.js';
import type { Phase } from '../../plan/types.js';
import { printable } from '../../text.js';
import type { Context } from '../context.js';
import { renderPlan } from '../render/plan-table.js';
import { refuseEvents, withEvents, withEventsOption } from './events.js';
import { planSetStates } from './plan-set-args.js';
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
    .command('set')
    .description("set a leaf phase's state by hand, recorded with the reason (shown by plan and status history); nothing runs")
    .requiredOption('--phase <id>', 'leaf phase id, e.g. /masters/node-1/drain')
    .option('--state <state>', `the state to record (after "set"; before it, --state is the state file): ${SETTABLE_STATES.join(', ')}`)
    .requiredOption('--reason <text>', 'why: kept in the changelog and the status history')
    .action((o: { phase: string; reason: string }, cmd: Command) => {
      // Commander gave every --state to the global option: split them by where they stand.
      const root = cmd.parent?.parent;
      const states = root ? planSetStates(root) : {};
      root?.setOptionValue('state', states.file);
      return run(cmd, (ctx) => {
        refuseEvents(ctx, 'hoist plan set');
        return setPhase(ctx, { phase: checkId(o.phase), state: settableState(states.phase), reason: o.reason });
      });
    });
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
  if ('phase' in action && action.phase !== '/') await phaseInPlan(ctx, action.phase);
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

/** The phase of the operation acted on, or ERR_PHASE_NOT_FOUND before the lease is taken or a log line written. */
async function phaseInPlan(ctx: Context, id: string): Promise<Phase> {
  const op = await ctx.operation();
  const phase = findPhase((await ctx.store().getPlan(op.cluster, op.id)).phases, id);
  if (!phase) {
    throw new StateError('ERR_PHASE_NOT_FOUND', `phase "${id}" not found in the plan of operation ${op.id}`, {
      phase: id,
      hint: 'run "hoist plan" to see the phase ids of the operation',
    });
  }
  return phase;
}

function settableState(value: string | undefined): SettableState {
  const states: readonly string[] = SETTABLE_STATES;
  if (value !== undefined && states.includes(value)) return value as SettableState;
  const allowed = SETTABLE_STATES.join(', ');
  throw new UsageError(
    'ERR_USAGE_PLAN_SET_STATE',
    value === undefined
      ? `"hoist plan set" needs --state after "set": one of ${allowed}`
      : `--state "${printable(value, 80)}" is not a state "hoist plan set" records: one of ${allowed}`,
    { hint: `hoist [--state FILE] plan set --phase P --state ${SETTABLE_STATES.join('|')} --reason TEXT` },
  );
}

async function setPhase(ctx: Context, req: OverrideRequest): Promise<void> {
  checkOverride(req);
  // Refused before the lease is taken or a log line written, as the workflow would refuse them.
  refuseGroup(await phaseInPlan(ctx, req.phase));
  const id = await ctx.operationIdArg();
  const done = await overridePhase(ctx, { cluster: await ctx.clusterName(), ...(id ? { id } : {}) }, req);
  if (ctx.json) ctx.outJson({ ...done, reason: req.reason.trim() });
  else
    ctx.out(`Phase "${done.phase}" set to ${done.to} by hand (it was ${done.from}); recorded in the plan and in "hoist status history".\n`);
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
