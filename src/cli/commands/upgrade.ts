/** `hoist upgrade IMAGE [--manual] [--dry-run] [--force]`: plan an upgrade, create the operation, run it. */
import { randomUUID } from 'node:crypto';
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { resolveImageArg } from '../../config/load.js';
import { newOperationRecord } from '../../operation/records.js';
import { planUpgrade, startUpgrade } from '../../operation/upgrade.js';
import { describePlan } from '../../phases/describe.js';
import { resolvePlan } from '../../plan/resolve.js';
import type { Plan } from '../../plan/types.js';
import { checkStoreOutsideCluster } from '../../store/selected-store.js';
import type { Context } from '../context.js';
import { renderPlan } from '../render/plan-table.js';
import { refuseEvents, withEvents, withEventsOption } from './events.js';
import { type Action, parseCount, parseCountOrPercent } from './shared.js';

interface UpgradeOptions {
  manual?: boolean;
  dryRun?: boolean;
  force?: boolean;
  maxUnavailableWorkers?: string;
  parallel?: string;
}

/** Registers `upgrade`. */
export function registerUpgrade(program: Command, run: Action): void {
  const cmd = program
    .command('upgrade')
    .description('plan an upgrade of the cluster to IMAGE and run it (or only create it with --manual)')
    .argument('<image>', 'image directory, .tar/.tar.gz of one, or (with --dry-run/--state) an app.yaml')
    .option('-m, --manual', 'create the operation without executing any phase')
    .option('--dry-run', 'print the plan that would be built (from the live nodes, read only, or --state) and change nothing')
    .option('--force', 'create the operation even if a node is degraded or the previous upgrade was left unfinished')
    .option('--max-unavailable-workers <n>', 'workers upgraded at once: a count or a percentage like 25%', '1')
    .option('--parallel <n>', 'nodes handled at once in /init, /bootstrap, /config and /gc (default: all)');
  withEventsOption(cmd).action((image: string, opts: UpgradeOptions, cmd: Command) =>
    run(cmd, (ctx) => {
      if (opts.dryRun) refuseEvents(ctx, 'hoist upgrade --dry-run');
      return withEvents(ctx, () => upgrade(ctx, image, opts));
    }),
  );
}

async function upgrade(ctx: Context, imageArg: string, opts: UpgradeOptions): Promise<void> {
  // Options first: a bad number is refused before any input is read or agent deployed.
  const maxUnavailable = parseCountOrPercent('--max-unavailable-workers', opts.maxUnavailableWorkers ?? '1');
  const parallel = opts.parallel ? parseCount('--parallel', opts.parallel) : undefined;
  const statePromise = ctx.clusterState();
  const image = await resolveImageArg(resolve(ctx.io.cwd, imageArg), { allowBareManifest: !!opts.dryRun || !!ctx.globals.state });
  const options = {
    operationId: randomUUID(),
    createdAt: new Date().toISOString(),
    maxUnavailableWorkers: maxUnavailable,
    ...(parallel ? { parallel } : {}),
  };
  // --state contacts no node; a dry run reads the live nodes without deploying or locking anything;
  // an upgrade reads them through freshly deployed agents.
  const from = statePromise ? { state: statePromise } : { inventory: ctx.inventory().then((i) => i.config), readOnly: !!opts.dryRun };
  const { plan, imageDigest, warnings, announced } = await planUpgrade(ctx, image, from, options, { force: !!opts.force });

  if (opts.dryRun) {
    // Machine-readable dry runs also say what each phase would do, in its executor's words.
    const planned = newOperationRecord(plan, { image: image.manifest.metadata.name, mode: 'manual', createdBy: ctx.creator() });
    const does = ctx.globals.output === 'json' || ctx.globals.output === 'yaml' ? describePlan(plan, planned) : undefined;
    ctx.out(renderPlan(resolvePlan(plan, []), ctx.globals.output, undefined, does));
    return;
  }
  checkStoreOutsideCluster(
    await ctx.etcdStoreConfig(),
    plan,
    (await ctx.inventory()).config.spec.nodes.map((n) => n.address),
  );
  const { operation: op, completion } = await startUpgrade(ctx, {
    plan,
    image: image.manifest.metadata.name,
    source: resolve(ctx.io.cwd, imageArg),
    ...(imageDigest ? { imageDigest } : {}),
    manual: !!opts.manual,
    force: !!opts.force,
    ...(warnings ? { warnings } : {}),
    ...(announced ? { announced } : {}),
  });
  const state = completion?.operation.state ?? op.state;
  if (ctx.json) ctx.outJson({ id: op.id, cluster: op.cluster, from: op.from, to: op.to, state, mode: op.mode });
  else if (completion) ctx.out(`Cluster ${op.cluster} upgraded from ${op.from} to ${op.to} (operation ${op.id}).\n`);
  else ctx.out(`The operation ${op.id} has been created in manual mode.\n`);
  if (!completion) {
    ctx.progress.line(
      ctx.offline
        ? 'See the plan with "hoist plan"; phases run on the nodes, so run them without --state (-c cluster.yaml).'
        : manualNextStep(plan),
    );
  }
}

/** What to type after a manual upgrade: its plan's first phase (an app-only upgrade has no /init). */
export function manualNextStep(plan: Plan): string {
  return `See the plan with "hoist plan"; run phases with "hoist plan execute --phase ${plan.phases[0]?.id ?? '/'}" or all of them with "hoist plan resume".`;
}
