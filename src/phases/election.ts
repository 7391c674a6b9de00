/**
 * `stepdown` and `elect` (Gravity's election_status): set the election flags of masters in etcd
 * (`/planet/cluster/<name>/election/<ip>`) through the runtime's election hooks on the node.
 * Rollback inverts the flags.
 */
import type { Executor, PhaseContext } from '../fsm/executor.js';
import { addressOf, dataOf, nodeOf, type PhaseDeps } from './deps.js';
import { runCurrentHook } from './runtime-hooks.js';

type ElectionKey = 'stepdown' | 'elect';

/** Node names whose election flag the phase turns on and off. */
function names(key: ElectionKey, ctx: Pick<PhaseContext, 'phase'>): { enable: string[]; disable: string[] } {
  const data = dataOf(key, ctx);
  return { enable: data.enable === undefined ? [] : [data.enable], disable: data.disable ?? [] };
}

async function apply(deps: PhaseDeps, ctx: PhaseContext, enable: string[], disable: string[]): Promise<void> {
  const node = nodeOf(ctx);
  const addresses = (nodes: string[]) => nodes.map((n) => addressOf(ctx, n));
  if (disable.length > 0) await runCurrentHook(deps, ctx, node, 'election-disable', addresses(disable));
  if (enable.length > 0) await runCurrentHook(deps, ctx, node, 'election-enable', addresses(enable));
}

/** Executor of `stepdown` and `elect`. */
export function electionExecutor(deps: PhaseDeps, key: ElectionKey): Executor {
  return {
    async execute(ctx) {
      const f = names(key, ctx);
      await apply(deps, ctx, f.enable, f.disable);
    },
    async rollback(ctx) {
      const f = names(key, ctx);
      await apply(deps, ctx, f.disable, f.enable);
    },
    describe: (ctx) => {
      const f = names(key, ctx);
      const list = (nodes: string[]): string => nodes.join(', ') || 'none';
      return `set election flags in etcd: enable ${list(f.enable)}; disable ${list(f.disable)}`;
    },
  };
}
