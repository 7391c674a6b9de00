/**
 * `stepdown` and `elect` (Gravity's election_status): set the election flags of masters in etcd
 * (`/planet/cluster/<name>/election/<ip>`) through the runtime's election hooks on the node.
 * Rollback inverts the flags.
 */
import type { Executor, PhaseContext } from '../fsm/executor.js';
import { addressOf, nodeOf, type PhaseDeps } from './deps.js';
import { runCurrentHook } from './runtime-hooks.js';

function flags(ctx: PhaseContext): { enable: string[]; disable: string[] } {
  const data = ctx.phase.data ?? {};
  const list = (v: unknown): string[] => (Array.isArray(v) ? v.map(String) : typeof v === 'string' ? [v] : []);
  return { enable: list(data.enable).map((n) => addressOf(ctx, n)), disable: list(data.disable).map((n) => addressOf(ctx, n)) };
}

async function apply(deps: PhaseDeps, ctx: PhaseContext, enable: string[], disable: string[]): Promise<void> {
  const node = nodeOf(ctx);
  if (disable.length > 0) await runCurrentHook(deps, ctx, node, 'election-disable', disable);
  if (enable.length > 0) await runCurrentHook(deps, ctx, node, 'election-enable', enable);
}

/** Executor of `stepdown` and `elect`. */
export function electionExecutor(deps: PhaseDeps): Executor {
  return {
    async execute(ctx) {
      const f = flags(ctx);
      await apply(deps, ctx, f.enable, f.disable);
    },
    async rollback(ctx) {
      const f = flags(ctx);
      await apply(deps, ctx, f.disable, f.enable);
    },
    describe: (ctx) => {
      const data = ctx.phase.data ?? {};
      const names = (v: unknown): string => ([] as unknown[]).concat(v ?? []).join(', ') || 'none';
      return `set election flags in etcd: enable ${names(data.enable)}; disable ${names(data.disable)}`;
    },
  };
}
