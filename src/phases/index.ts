/**
 * The executors of this build, by key. Keys the plan builder emits but this map lacks stay
 * unavailable: their phases fail their precheck with ERR_EXECUTOR_UNAVAILABLE, never faked.
 */
import { ExecutorRegistry } from '../fsm/executor.js';
import { checksExecutor } from './checks.js';
import type { PhaseDeps } from './deps.js';
import { gcExecutor } from './gc.js';
import { initExecutor } from './init.js';

/** A registry of every executor that can run with `deps`. */
export function phaseRegistry(deps: PhaseDeps): ExecutorRegistry {
  return new ExecutorRegistry()
    .register('init', () => initExecutor(deps))
    .register('checks', () => checksExecutor(deps))
    .register('gc', () => gcExecutor(deps));
}

export type { PhaseDeps } from './deps.js';
