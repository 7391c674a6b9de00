/**
 * `…/os-upgrade`: the image's OS package writes itself into the node's inactive A/B slot and sets
 * the next boot to try that slot once (its `os-upgrade` hook), then the node reboots (its `reboot`
 * hook) and hoist waits until it is back: SSH answers, the agent answers and the boot id changed.
 * Rollback makes the slot of the previous release the default again (`select-slot`) and reboots
 * into it. hoist knows nothing of how slots are written: that is the package's contract.
 */
import { ExitCode, HoistError } from '../errors.js';
import type { Executor, PhaseContext } from '../fsm/executor.js';
import { LABEL } from '../image/schema.js';
import { parseLocator } from '../plan/names.js';
import { dataOf, factsOf, nodeOf, type PhaseDeps } from './deps.js';
import { osStatusOf, waitForNewBoot } from './os-status.js';
import { pushImagePackage } from './packages.js';
import { runHook } from './runtime-hooks.js';

const dataOfPhase = (ctx: Pick<PhaseContext, 'phase'>) => dataOf('os-upgrade', ctx);

/** Seconds a node may take to go down and answer again after a reboot, unless the image says. */
export const REBOOT_TIMEOUT_SECONDS = 600;

async function ensurePackage(deps: PhaseDeps, ctx: PhaseContext, node: string, locator: string): Promise<void> {
  const { name, version } = parseLocator(locator, `${ctx.phase.id} to`);
  const facts = await factsOf(deps, ctx, node);
  if (facts.packages.some((p) => p.name === name && p.version === version)) return;
  await pushImagePackage(deps, ctx, node, locator, { [LABEL.purpose]: 'os', [LABEL.operationId]: ctx.operation.id });
}

/** Runs the package's `reboot` hook and waits for the next boot of the node. */
export async function rebootNode(deps: PhaseDeps, ctx: PhaseContext, node: string, locator: string): Promise<void> {
  const before = (await osStatusOf(deps, ctx, node)).bootId;
  await runHook(deps, ctx, node, locator, 'reboot');
  const timeout = dataOfPhase(ctx).rebootTimeoutSeconds ?? REBOOT_TIMEOUT_SECONDS;
  ctx.report(`waiting up to ${timeout} s for ${node} to reboot (boot ${before})`);
  await waitForNewBoot(deps, ctx, node, before, timeout);
}

/** Executor of `os-upgrade`. */
export function osUpgradeExecutor(deps: PhaseDeps): Executor {
  return {
    async execute(ctx) {
      const node = nodeOf(ctx);
      const { to, assessment } = dataOfPhase(ctx);
      const release = parseLocator(to, `${ctx.phase.id} to`).version;
      const status = await osStatusOf(deps, ctx, node);
      // Already booted into it (a resume after the reboot): the assessment phase reads the verdict.
      // A node that fell back from an earlier trial is tried again: slot and selection are rewritten.
      if (status.release === release) return;
      await ensurePackage(deps, ctx, node, to);
      await runHook(deps, ctx, node, to, 'os-upgrade', [JSON.stringify(assessment)]);
      await rebootNode(deps, ctx, node, to);
    },
    async rollback(ctx) {
      const node = nodeOf(ctx);
      const { from, to } = dataOfPhase(ctx);
      const status = await osStatusOf(deps, ctx, node);
      const old = Object.entries(status.slots).find(([, s]) => s.release === from)?.[0];
      if (!old) {
        throw new HoistError('ERR_OS_SLOT_MISSING', `node ${node} has no slot holding OS release ${from}`, ExitCode.phaseFailed, {
          node,
          hint: `its slots hold ${Object.entries(status.slots)
            .map(([k, s]) => `${k}: ${s.release ?? 'empty'}`)
            .join(', ')}; restore the OS by hand`,
        });
      }
      if (status.activeSlot === old && status.defaultSlot === old && status.nextSlot === null) {
        ctx.logger.info({ event: 'os-upgrade.rollback' }, `${node} already runs ${from} from slot ${old}`);
        return;
      }
      await runHook(deps, ctx, node, to, 'select-slot', [old]);
      if (status.activeSlot !== old) await rebootNode(deps, ctx, node, to);
    },
    describe: (ctx) => {
      const { from, to } = dataOfPhase(ctx);
      return `write ${to} into the inactive slot of ${ctx.phase.node} (now ${from}), boot it once on trial and wait for the node`;
    },
  };
}
