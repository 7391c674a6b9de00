/**
 * `/gc/<node>`: the upgrade is through on this node — remove what the operation left there and
 * record the new image as installed (what hoist reads back to learn the cluster's version).
 */
import { stringify } from 'yaml';
import type { Executor, PhaseContext } from '../fsm/executor.js';
import { nodeOf, type PhaseDeps, runOptions } from './deps.js';

async function manifestText(deps: PhaseDeps): Promise<string> {
  return stringify((await deps.image()).manifest);
}

/** Executor of `gc`. Rollback puts the previous installed-image record back; removed leftovers stay removed. */
export function gcExecutor(deps: PhaseDeps): Executor {
  return {
    async execute(ctx: PhaseContext) {
      const node = nodeOf(ctx);
      const result = await deps.nodes.run<{ removed: string[] }>(node, 'operation.gc', { operationId: ctx.operation.id }, runOptions(ctx));
      ctx.logger.info({ event: 'gc.removed', removed: result.removed }, `removed ${result.removed.length} leftover(s)`);
      await deps.nodes.run(node, 'installed.commit', { manifest: await manifestText(deps) }, runOptions(ctx));
    },
    async rollback(ctx) {
      await deps.nodes.run(nodeOf(ctx), 'installed.revert', { manifest: await manifestText(deps) }, runOptions(ctx));
    },
    describe: (ctx) => `remove leftovers of operation ${ctx.operation.id} on ${ctx.phase.node} and record ${ctx.operation.to} as installed`,
  };
}
