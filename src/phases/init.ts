/** `/init/<node>`: prepare the node's state dirs, record the operation there, clear leftovers of earlier operations. */
import type { Executor } from '../fsm/executor.js';
import { nodeOf, runOptions, type PhaseDeps } from './deps.js';

/** Executor of `init`. Rollback forgets the operation on the node. */
export function initExecutor(deps: PhaseDeps): Executor {
  return {
    async execute(ctx) {
      const node = nodeOf(ctx);
      const { operation: op } = ctx;
      await deps.nodes.run(node, 'operation.init', { operation: { id: op.id, cluster: op.cluster, from: op.from, to: op.to, node, leader: ctx.phase.data?.leader === true } }, runOptions(ctx));
    },
    async rollback(ctx) {
      await deps.nodes.run(nodeOf(ctx), 'operation.remove', { operationId: ctx.operation.id }, runOptions(ctx));
    },
    describe: (ctx) => `record operation ${ctx.operation.id} on ${ctx.phase.node} and clear leftovers of earlier operations`,
  };
}
