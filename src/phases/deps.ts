/** What executors are built with: the way to reach nodes, the target image, the orchestrator's facts. */
import type { FactsResult } from '../agent/actions/index.js';
import type { NodeAccess, RunOptions } from '../cluster/node-access.js';
import { StateError } from '../errors.js';
import type { PhaseContext } from '../fsm/executor.js';
import type { Image } from '../image/open.js';
import { type ExecutorKey, type PhaseData, parsePhaseData } from '../plan/phase-data.js';

/** Dependencies shared by every executor of a run. */
export interface PhaseDeps {
  nodes: NodeAccess;
  /** Version of this hoist; agents are expected to run the same. */
  version: string;
  /** The target image, opened on first use (packages are pushed from it). */
  image(): Promise<Image>;
  /** Bound of one node drain (`--drain-timeout`); default 1 h. */
  drainTimeoutMs?: number;
  /** Node patches and endpoints reads through the lead master's kubectl proxy (default true). */
  kubeProxy?: boolean;
}

/** RunOptions for an action done on behalf of a phase: ids, abort signal, output into the log. */
export function runOptions(ctx: PhaseContext): RunOptions {
  return {
    ...(ctx.onExecution ? { onAccepted: (id: string, node: string) => ctx.onExecution!(node, id) } : {}),
    operationId: ctx.operation.id,
    phaseId: ctx.phase.id,
    ...(ctx.attempt ? { attempt: ctx.attempt } : {}),
    ...(ctx.epoch !== undefined ? { epoch: ctx.epoch } : {}),
    ...(ctx.holder ? { holder: ctx.holder } : {}),
    signal: ctx.signal,
    onOutput: (stream, data) => {
      ctx.logger.debug({ event: 'phase.output', stream }, data.trimEnd());
      ctx.output?.(data);
    },
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

/** The node a phase is about (its `server`), else the node it runs on. */
export function serverOf(ctx: PhaseContext): string {
  return ctx.phase.server ?? nodeOf(ctx);
}

/** Address of a node of the plan. */
export function addressOf(ctx: PhaseContext, node: string): string {
  const server = ctx.plan.servers.find((s) => s.name === node);
  if (!server) throw new Error(`node ${node} is not in the plan`);
  return server.address;
}

/** Facts of a node (installed packages, runtime, etcd). */
export function factsOf(deps: PhaseDeps, ctx: PhaseContext, node: string): Promise<FactsResult> {
  return deps.nodes.run<FactsResult>(node, 'facts', {}, runOptions(ctx));
}

/**
 * The data of the phase as executor `key` reads it. The builder and the store both check it
 * already; this refuses a plan that reached the engine past them instead of running on guesses.
 */
export function dataOf<K extends ExecutorKey>(key: K, ctx: Pick<PhaseContext, 'phase'>): PhaseData<K> {
  const res = parsePhaseData(key, ctx.phase);
  if (res.ok) return res.data;
  throw new StateError('ERR_PHASE_DATA', `phase ${ctx.phase.id} has data that executor "${key}" cannot read`, {
    phase: ctx.phase.id,
    details: res.problem.issues,
    hint: 'the plan was not built by this version of hoist; complete or roll back the operation with the hoist that created it',
  });
}
