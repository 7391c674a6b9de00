/**
 * `/bootstrap/<node>`: push to the node what its upgrade will need — the target runtime package
 * and the node's new configuration package — verified by sha256 and labelled with the operation.
 * Nothing the node runs changes. Rollback removes exactly what this operation added.
 */
import type { Executor, PhaseContext } from '../fsm/executor.js';
import { LABEL } from '../image/schema.js';
import { parseLocator } from '../plan/names.js';
import { addressOf, dataOf, factsOf, nodeOf, type PhaseDeps, runOptions } from './deps.js';
import { buildConfigPackage, pushBlob, pushImagePackage } from './packages.js';

/** Executor of `bootstrap`. */
export function bootstrapExecutor(deps: PhaseDeps): Executor {
  return {
    async execute(ctx) {
      const node = nodeOf(ctx);
      const facts = await factsOf(deps, ctx, node);
      const has = (name: string, version: string) => facts.packages.some((p) => p.name === name && p.version === version);
      const mark = { [LABEL.operationId]: ctx.operation.id };
      const { runtime } = dataOf('bootstrap', ctx);
      const { name: rname, version: rversion } = parseLocator(runtime, `${ctx.phase.id} runtime`);
      // A package the node already has keeps its labels: rollback must never remove it.
      if (!has(rname, rversion)) await pushImagePackage(deps, ctx, node, runtime, { [LABEL.purpose]: 'runtime', ...mark });
      const config = await buildConfigPackage({
        cluster: ctx.plan.cluster,
        node,
        address: addressOf(ctx, node),
        role: ctx.plan.servers.find((s) => s.name === node)?.role ?? 'worker',
        runtime,
        version: ctx.operation.to,
        masters: ctx.plan.servers.filter((s) => s.role === 'master').map((s) => ({ name: s.name, address: s.address })),
      });
      if (!has(config.entry.name, config.entry.version)) {
        await pushBlob(deps, ctx, node, config.entry, config.blob, {
          [LABEL.purpose]: 'runtime-config',
          'advertise-ip': addressOf(ctx, node),
          ...mark,
        });
      }
    },
    async rollback(ctx) {
      await removeOperationPackages(deps, ctx, nodeOf(ctx));
    },
    describe: (ctx) => `push runtime ${dataOf('bootstrap', ctx).runtime} and the node configuration to ${ctx.phase.node}`,
  };
}

/** Removes packages this operation brought to `node` that are not installed. */
async function removeOperationPackages(
  deps: PhaseDeps,
  ctx: PhaseContext,
  node: string,
  operationId = ctx.operation.id,
): Promise<string[]> {
  const facts = await factsOf(deps, ctx, node);
  const removed: string[] = [];
  for (const p of facts.packages) {
    if (p.labels[LABEL.operationId] !== operationId || p.labels[LABEL.installed]) continue;
    await deps.nodes.run(node, 'package.remove', { name: p.name, version: p.version }, runOptions(ctx));
    removed.push(`${p.name}:${p.version}`);
  }
  return removed;
}
