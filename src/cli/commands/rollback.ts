/** `hoist rollback [--dry-run] [--confirm]`: undo every started phase, newest first, then close the operation as failed. */
import { createInterface } from 'node:readline/promises';
import type { Command } from 'commander';
import { UsageError } from '../../errors.js';
import { rollbackUpgrade } from '../../operation/rollback.js';
import type { Context } from '../context.js';
import { columns, formatUpdated } from '../render/plan-table.js';
import { refuseEvents, withEvents, withEventsOption } from './events.js';
import type { Action } from './shared.js';

/** Registers `rollback`. */
export function registerRollback(program: Command, run: Action): void {
  const cmd = program
    .command('rollback')
    .description('roll back the active operation: every started phase in reverse plan order')
    .option('--operation-id <id>', 'operation to roll back (default: the active one)')
    .option('--dry-run', 'print what would be rolled back and change nothing')
    .option('--confirm', 'do not ask for confirmation');
  withEventsOption(cmd).action((o: { dryRun?: boolean; confirm?: boolean }, cmd: Command) =>
    run(cmd, (ctx) => {
      if (o.dryRun) refuseEvents(ctx, 'hoist rollback --dry-run');
      return withEvents(ctx, () => rollback(ctx, o));
    }),
  );
}

async function rollback(ctx: Context, o: { dryRun?: boolean; confirm?: boolean }): Promise<void> {
  const op = await ctx.operation();
  if (!o.dryRun && !o.confirm) {
    const table = columns([
      ['Type', 'ID', 'State', 'Created'],
      ['----', '--', '-----', '-------'],
      [`upgrade ${op.from} → ${op.to}`, op.id, op.state, formatUpdated(op.created)],
    ]);
    ctx.io.stderr.write(
      `You are about to roll back the following operation:\n${table}\n\nConsider "hoist rollback --dry-run" first to see which phases would be rolled back.\n`,
    );
    if (!ctx.io.interactive) {
      throw new UsageError('ERR_CONFIRM_REQUIRED', 'refusing to roll back without confirmation: no terminal to ask on', {
        hint: 'pass --confirm (or --dry-run to only look)',
      });
    }
    const rl = createInterface({ input: ctx.io.stdin, output: ctx.io.stderr });
    const answer = (await rl.question('Proceed? (yes/no): ')).trim().toLowerCase();
    rl.close();
    if (answer !== 'yes' && answer !== 'y') {
      ctx.io.stderr.write('Rollback cancelled; nothing changed.\n');
      return;
    }
  }
  // The record shown at the prompt is checked again under the lock: if another command changed the
  // operation while the operator was answering, nothing is rolled back.
  const outcome = await rollbackUpgrade(ctx, { cluster: op.cluster, seen: op }, { dryRun: !!o.dryRun, announce: !ctx.json });
  const done = outcome.completion;
  if (!done) {
    if (ctx.json) ctx.outJson({ operation: op.id, dryRun: true, phases: outcome.phases.map((p) => p.id) });
    else if (outcome.phases.length === 0) ctx.progress.line('[DRY-RUN] Nothing to roll back.');
    return;
  }
  if (ctx.json)
    ctx.outJson({
      operation: op.id,
      state: done.operation.state,
      rolledBack: outcome.phases.map((p) => p.id),
      installedVersion: done.cluster.image.version,
    });
  else
    ctx.out(`Operation ${op.id} rolled back; cluster ${done.cluster.name} is ${done.cluster.status} at ${done.cluster.image.version}.\n`);
}
