/** Builds the engine for a command: the store, the executors this build has, and the progress sink. */
import { hostname } from 'node:os';
import { Engine } from '../../fsm/engine.js';
import { ExecutorRegistry } from '../../fsm/executor.js';
import type { Plan, PlanChange } from '../../plan/types.js';
import type { OperationRecord } from '../../store/store.js';
import type { Context } from '../context.js';

/**
 * The executors available to this build. Phases whose executor is missing fail their preCheck
 * with ERR_EXECUTOR_UNAVAILABLE, visibly, instead of pretending to work.
 */
export function defaultRegistry(): ExecutorRegistry {
  return new ExecutorRegistry();
}

/** An engine over the operation's plan and changelog. */
export function makeEngine(ctx: Context, op: OperationRecord, plan: Plan, changes: PlanChange[], registry = defaultRegistry()): Engine {
  return new Engine({
    store: ctx.store(),
    plan,
    operation: op,
    changes,
    registry,
    logger: ctx.logger,
    progress: ctx.progress,
    owner: { host: hostname(), pid: process.pid },
    signal: ctx.io.signal,
  });
}
