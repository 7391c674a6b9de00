/** `/gc/<node>`: remove what the operation left on the node. */
import type { Executor } from '../fsm/executor.js';
import { nodeOf, runOptions, type PhaseDeps } from './deps.js';

/** Executor of `gc`. Cleanup undoes nothing the upgrade needs, so its rollback has nothing to do. */
export function gcExecutor(deps: PhaseDeps): Executor {
  return {
    async execute(ctx) {
      const result = await deps.nodes.run<{ removed: string[] }>(nodeOf(ctx), 'operation.gc', { operationId: ctx.operation.id }, runOptions(ctx));
      ctx.logger.info({ event: 'gc.removed', removed: result.removed }, `removed ${result.removed.length} leftover(s)`);
    },
    async rollback(ctx) {
      ctx.logger.info({ event: 'gc.rollback' }, 'cleanup removed only leftovers; nothing to restore');
    },
    describe: (ctx) => `remove leftovers of operation ${ctx.operation.id} on ${ctx.phase.node}`,
  };
}
