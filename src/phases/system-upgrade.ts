/**
 * `/…/system-upgrade`: stop the old runtime, install and start the new one, wait until it is
 * healthy, mark it installed. Rollback: stop the new one, start the old one, wait for health.
 * Each step is idempotent (the runtime's hooks are), so resume can re-run it from the top.
 */
import type { Executor, PhaseContext } from '../fsm/executor.js';
import { parseLocator } from '../plan/names.js';
import { dataOf, nodeOf, type PhaseDeps, runOptions } from './deps.js';
import { currentRuntime, runHook } from './runtime-hooks.js';

const versions = (ctx: Pick<PhaseContext, 'phase'>) => dataOf('system-upgrade', ctx);

async function switchRuntime(deps: PhaseDeps, ctx: PhaseContext, node: string, off: string, on: string): Promise<void> {
  await runHook(deps, ctx, node, off, 'stop');
  await runHook(deps, ctx, node, on, 'install');
  await runHook(deps, ctx, node, on, 'start');
  await runHook(deps, ctx, node, on, 'health');
  const ref = parseLocator(on, `runtime ${on}`);
  await deps.nodes.run(
    node,
    'package.label',
    { name: ref.name, version: ref.version, labels: { installed: 'installed' } },
    runOptions(ctx),
  );
}

/** Executor of `system-upgrade`. */
export function systemUpgradeExecutor(deps: PhaseDeps): Executor {
  return {
    async execute(ctx) {
      const { from, to } = versions(ctx);
      await switchRuntime(deps, ctx, nodeOf(ctx), from, to);
    },
    async rollback(ctx) {
      const { from, to } = versions(ctx);
      await switchRuntime(deps, ctx, nodeOf(ctx), to, from);
    },
    describe: (ctx) => `switch ${ctx.phase.node} from ${versions(ctx).from} to ${versions(ctx).to} and wait until healthy`,
  };
}

/** Executor of `health`: the node's runtime reports healthy (waits up to the hook's timeout). */
export function healthExecutor(deps: PhaseDeps): Executor {
  return {
    async execute(ctx) {
      const node = nodeOf(ctx);
      await runHook(deps, ctx, node, await currentRuntime(deps, ctx, node), 'health');
    },
    async rollback(ctx) {
      ctx.logger.info({ event: 'health.rollback' }, 'a health check changes nothing; nothing to undo');
    },
    describe: (ctx) => `wait until ${ctx.phase.node} reports healthy`,
  };
}
