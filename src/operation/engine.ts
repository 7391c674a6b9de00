/** Builds the engine for a workflow: the store, the executors, where phases run, and progress. */
import { hostname } from 'node:os';
import { StateError } from '../errors.js';
import { Engine } from '../fsm/engine.js';
import { type Executor, ExecutorRegistry, type NodeExecutions } from '../fsm/executor.js';
import type { Image } from '../image/open.js';
import { phaseRegistry } from '../phases/index.js';
import { leaves } from '../plan/query.js';
import type { Plan, PlanChange } from '../plan/types.js';
import type { OperationRecord } from '../store/store.js';
import { hoistVersion } from '../version.js';
import type { OperationEnv } from './env.js';
import { operationImage } from './image.js';

/** With --state nothing may touch a node, so every executor refuses, saying why. */
function offline(key: string): Executor {
  const refuse = async (): Promise<never> => {
    throw new StateError('ERR_OFFLINE', `phase executor "${key}" needs the nodes, but --state plans offline and never contacts a node`, {
      hint: 'run the command without --state (the inventory comes from -c cluster.yaml)',
    });
  };
  return { preCheck: refuse, execute: refuse, rollback: refuse };
}

/** An engine over the operation's plan and changelog, wired to the nodes unless --state is given. */
export async function makeEngine(
  env: OperationEnv,
  op: OperationRecord,
  plan: Plan,
  changes: PlanChange[],
  image: () => Promise<Image> = operationImage(env, op),
): Promise<Engine> {
  let registry: ExecutorRegistry;
  let placement: ((node: string | undefined) => string) | undefined;
  let executions: NodeExecutions | undefined;
  if (env.offline) {
    registry = new ExecutorRegistry();
    for (const leaf of leaves(plan.phases)) if (leaf.executor) registry.register(leaf.executor, () => offline(leaf.executor!));
  } else {
    const { agents } = await env.connect();
    const drainTimeoutMs = env.drainTimeoutMs;
    registry = phaseRegistry({
      nodes: agents,
      version: hoistVersion(),
      image,
      ...(drainTimeoutMs ? { drainTimeoutMs } : {}),
      kubeProxy: env.kubeProxy,
    });
    placement = (node) => agents.where(node);
    executions = agents;
  }
  return new Engine({
    store: env.store(),
    plan,
    operation: op,
    changes,
    registry,
    logger: env.logger,
    progress: env.progress,
    owner: { host: hostname(), pid: process.pid },
    lease: env.heldLease(),
    signal: env.signal,
    ...(env.events ? { events: env.events } : {}),
    ...(executions ? { executions } : {}),
    ...(placement ? { placement: (phase) => placement(phase.node) } : {}),
  });
}
