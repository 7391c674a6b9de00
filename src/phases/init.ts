/**
 * `/init/<node>`: prepare the node's state dirs, record the operation there, and clear what
 * earlier operations left (their scratch dirs and packages they brought but never installed).
 */
import type { Executor } from '../fsm/executor.js';
import { LABEL } from '../image/schema.js';
import { dataOf, factsOf, nodeOf, type PhaseDeps, runOptions } from './deps.js';

/** Executor of `init`. Rollback forgets the operation on the node. */
export function initExecutor(deps: PhaseDeps): Executor {
  return {
    async execute(ctx) {
      const node = nodeOf(ctx);
      const { operation: op } = ctx;
      await deps.nodes.run(
        node,
        'operation.init',
        { operation: { id: op.id, cluster: op.cluster, from: op.from, to: op.to, node, leader: dataOf('init', ctx).leader } },
        runOptions(ctx),
      );
      const facts = await factsOf(deps, ctx, node);
      for (const p of facts.packages) {
        const owner = p.labels[LABEL.operationId];
        if (!owner || owner === op.id || p.labels[LABEL.installed]) continue;
        await deps.nodes.run(node, 'package.remove', { name: p.name, version: p.version }, runOptions(ctx));
        ctx.logger.info(
          { event: 'init.cleanup', package: `${p.name}:${p.version}`, operation: owner },
          `removed ${p.name}:${p.version} left by operation ${owner}`,
        );
      }
    },
    async rollback(ctx) {
      await deps.nodes.run(nodeOf(ctx), 'operation.remove', { operationId: ctx.operation.id }, runOptions(ctx));
    },
    describe: (ctx) => `record operation ${ctx.operation.id} on ${ctx.phase.node} and clear leftovers of earlier operations`,
  };
}
