/** `hoist upgrade IMAGE [--manual] [--dry-run] [--force]`: plan an upgrade, create the operation, run it. */
import { randomUUID } from 'node:crypto';
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { liveClusterFacts } from '../../cluster/live-state.js';
import { resolveImageArg } from '../../config/load.js';
import { clusterStateToInput, toUpgradeInput } from '../../config/upgrade-input.js';
import { completeUpgrade, createUpgrade, newOperationRecord } from '../../fsm/operations.js';
import { openImage } from '../../image/open.js';
import { Events } from '../../log/events.js';
import { describePlan } from '../../phases/describe.js';
import { buildUpgradePlan } from '../../plan/builder/upgrade-plan.js';
import { resolvePlan } from '../../plan/resolve.js';
import { type Context, needStateFile } from '../context.js';
import { renderPlan } from '../render/plan-table.js';
import { deployAgents, shutdownAgents } from './agent.js';
import { makeEngine } from './engine-factory.js';
import { type Action, parseCount } from './shared.js';

interface UpgradeOptions {
  manual?: boolean;
  dryRun?: boolean;
  force?: boolean;
  maxUnavailableWorkers?: string;
  parallel?: string;
}

/** Registers `upgrade`. */
export function registerUpgrade(program: Command, run: Action): void {
  program
    .command('upgrade')
    .description('plan an upgrade of the cluster to IMAGE and run it (or only create it with --manual)')
    .argument('<image>', 'image directory, .tar/.tar.gz of one, or (with --dry-run/--state) an app.yaml')
    .option('-m, --manual', 'create the operation without executing any phase')
    .option('--dry-run', 'print the plan that would be built and change nothing')
    .option('--force', 'create the operation even if the previous upgrade was left unfinished')
    .option('--max-unavailable-workers <n>', 'workers upgraded at once: a count or a percentage like 25%', '1')
    .option('--parallel <n>', 'nodes handled at once in /init, /bootstrap, /config and /gc (default: all)')
    .action((image: string, opts: UpgradeOptions, cmd: Command) => run(cmd, (ctx) => upgrade(ctx, image, opts)));
}

async function upgrade(ctx: Context, imageArg: string, opts: UpgradeOptions): Promise<void> {
  const statePromise = ctx.clusterState();
  // --state and --dry-run contact no node; a live upgrade reads the cluster through its agents.
  if (!statePromise && opts.dryRun) throw needStateFile();
  const image = await resolveImageArg(resolve(ctx.io.cwd, imageArg), { allowBareManifest: !!opts.dryRun || !!ctx.globals.state });
  if (image.source.kind !== 'manifest') {
    // Every package is checked before anything is planned or created: a damaged or unsafe image
    // is refused here (exit 3), not half-way through an upgrade.
    const opened = await openImage(image.source.path);
    ctx.onClose(() => opened.close());
    await opened.verify();
  }
  const maxUnavailable = opts.maxUnavailableWorkers?.endsWith('%')
    ? opts.maxUnavailableWorkers
    : parseCount('--max-unavailable-workers', opts.maxUnavailableWorkers ?? '1');
  const options = {
    operationId: randomUUID(),
    createdAt: new Date().toISOString(),
    maxUnavailableWorkers: maxUnavailable,
    ...(opts.parallel ? { parallel: parseCount('--parallel', opts.parallel) } : {}),
  };
  let input;
  if (statePromise) {
    input = clusterStateToInput(await statePromise, image.manifest, options);
  } else {
    await deployAgents(ctx);
    const { agents } = await ctx.connect();
    input = toUpgradeInput(await liveClusterFacts((await ctx.inventory()).config, agents, ctx.io.signal), image.manifest, options);
  }
  const plan = buildUpgradePlan(input);

  if (opts.dryRun) {
    // Machine-readable dry runs also say what each phase would do, in its executor's words.
    const planned = newOperationRecord(plan, { image: image.manifest.metadata.name, mode: 'manual', createdBy: ctx.creator() });
    const does = ctx.globals.output === 'json' || ctx.globals.output === 'yaml' ? describePlan(plan, planned) : undefined;
    ctx.out(renderPlan(resolvePlan(plan, []), ctx.globals.output, undefined, does));
    return;
  }
  const store = ctx.store();
  await ctx.withLock(plan.cluster, async (lease) => {
    const op = await createUpgrade(store, {
      lease,
      plan,
      image: image.manifest.metadata.name,
      source: resolve(ctx.io.cwd, imageArg),
      mode: opts.manual ? 'manual' : 'automatic',
      createdBy: ctx.creator(),
      force: !!opts.force,
    });
    ctx.useOperationLog(store, op);
    ctx.logger.info({ event: Events.operationCreated, operation: op.id, from: op.from, to: op.to }, 'operation created');
    ctx.progress.line(`${stamp()}\tUpgrading cluster from ${op.from} to ${op.to}`);
    if (opts.manual) {
      if (ctx.json) ctx.outJson({ id: op.id, cluster: op.cluster, from: op.from, to: op.to, state: op.state, mode: op.mode });
      else ctx.out(`The operation ${op.id} has been created in manual mode.\n`);
      ctx.progress.line(
        `See the plan with "hoist plan"; run phases with "hoist plan execute --phase /init" or all of them with "hoist plan resume".`,
      );
      return;
    }
    const engine = await makeEngine(ctx, op, plan, []);
    try {
      await engine.resume();
    } catch (err) {
      ctx.progress.line(
        `The upgrade stopped; the operation ${op.id} stays active. Next: "hoist plan" to see what failed, "hoist plan resume" to continue, "hoist rollback --dry-run" to see what a rollback would undo.`,
      );
      throw err;
    }
    const done = await completeUpgrade(store, op, engine.state, { lease });
    // Agents exist for the operation; a finished automatic upgrade leaves none behind (Gravity did the same).
    if (!ctx.globals.state) await shutdownAgents(ctx);
    if (ctx.json) ctx.outJson({ id: op.id, cluster: op.cluster, from: op.from, to: op.to, state: done.operation.state, mode: op.mode });
    else ctx.out(`Cluster ${op.cluster} upgraded from ${op.from} to ${op.to} (operation ${op.id}).\n`);
  });
}

/** `Thu Mar  4 04:09:57 UTC`, as Gravity stamped its progress lines. */
function stamp(d = new Date()): string {
  return d
    .toUTCString()
    .replace(
      /^(\w+), (\d+) (\w+) \d+ ([\d:]+) GMT$/,
      (_m, day: string, date: string, mon: string, time: string) => `${day} ${mon} ${date.padStart(2, ' ')} ${time} UTC`,
    );
}
