/** What executors are built with: the way to reach nodes and the orchestrator's own facts. */
import type { NodeAccess, RunOptions } from '../cluster/node-access.js';
import type { PhaseContext } from '../fsm/executor.js';

/** Dependencies shared by every executor of a run. */
export interface PhaseDeps {
  nodes: NodeAccess;
  /** Version of this hoist; agents are expected to run the same. */
  version: string;
}

/** RunOptions for an action done on behalf of a phase: ids, abort signal, output into the log. */
export function runOptions(ctx: PhaseContext): RunOptions {
  return {
    operationId: ctx.operation.id,
    phaseId: ctx.phase.id,
    signal: ctx.signal,
    onOutput: (stream, data) => ctx.logger.debug({ event: 'phase.output', stream }, data.trimEnd()),
    onLog: (level, message) => {
      ctx.logger[level === 'error' ? 'error' : level === 'warn' ? 'warn' : 'debug']({ event: 'agent.log' }, message);
      if (level === 'info') ctx.report(message);
    },
  };
}

/** The node a phase runs on; every leaf of an upgrade plan names one. */
export function nodeOf(ctx: PhaseContext): string {
  const node = ctx.phase.node;
  if (!node) throw new Error(`phase ${ctx.phase.id} names no node`);
  return node;
}
