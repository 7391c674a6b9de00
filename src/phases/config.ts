/**
 * `/config/<node>`: install the node's new configuration package (pushed by bootstrap) by marking
 * it installed; the previous one stays in the store, so rollback marks it installed again.
 */
import type { Executor } from '../fsm/executor.js';
import { factsOf, nodeOf, type PhaseDeps, runOptions } from './deps.js';
import { configPackageName } from './packages.js';

/** Executor of `config`. */
export function configExecutor(deps: PhaseDeps): Executor {
  return {
    async execute(ctx) {
      const node = nodeOf(ctx);
      await deps.nodes.run(
        node,
        'package.label',
        { name: configPackageName(node), version: ctx.operation.to, labels: { installed: 'installed' } },
        runOptions(ctx),
      );
    },
    async rollback(ctx) {
      const node = nodeOf(ctx);
      const name = configPackageName(node);
      const facts = await factsOf(deps, ctx, node);
      const others = facts.packages.filter((p) => p.name === name && p.version !== ctx.operation.to).map((p) => p.version);
      const previous = others.includes(ctx.operation.from) ? ctx.operation.from : others.at(-1);
      if (previous) {
        await deps.nodes.run(node, 'package.label', { name, version: previous, labels: { installed: 'installed' } }, runOptions(ctx));
      } else {
        await deps.nodes.run(node, 'package.label', { name, version: ctx.operation.to, labels: { installed: null } }, runOptions(ctx));
      }
    },
    describe: (ctx) => `install configuration ${configPackageName(ctx.phase.node ?? '')}:${ctx.operation.to}`,
  };
}
