/**
 * A registry of scripted executors that records every call. Behaviour note: a phase id listed in
 * `failOn[step]` throws in that step (once, if `failOnce`), `slow` phases wait until aborted or
 * `slowMs` elapses; everything else succeeds at once.
 */
import { ExecutorRegistry, type PhaseContext } from '../../src/fsm/executor.js';

export type Step = 'preCheck' | 'execute' | 'postCheck' | 'rollback';

export interface Script {
  failOn?: Partial<Record<Step, string[]>>;
  failOnce?: boolean;
  slow?: string[];
  slowMs?: number;
  /** Resolves when a slow phase has started (for interrupt tests). */
  onSlowStart?: (id: string) => void;
  ignoreAbort?: boolean;
}

export function recordingRegistry(script: Script = {}) {
  const calls: string[] = [];
  const active = { now: 0, max: 0 };
  const failed = new Set<string>();
  const step = (name: Step) => async (ctx: PhaseContext) => {
    const id = ctx.phase.id;
    calls.push(`${name} ${id}`);
    if (script.failOn?.[name]?.includes(id) && !(script.failOnce && failed.has(`${name}${id}`))) {
      failed.add(`${name}${id}`);
      throw new Error(`${name} of ${id} broke`);
    }
    if (name === 'execute') {
      active.now++;
      active.max = Math.max(active.max, active.now);
      try {
        await new Promise((r) => setImmediate(r));
        if (script.slow?.includes(id)) {
          script.onSlowStart?.(id);
          await new Promise<void>((resolve, reject) => {
            const t = setTimeout(resolve, script.slowMs ?? 60_000);
            if (!script.ignoreAbort) {
              ctx.signal.addEventListener('abort', () => {
                clearTimeout(t);
                reject(new Error('aborted'));
              });
            }
          });
        }
      } finally {
        active.now--;
      }
    }
  };
  const registry = new ExecutorRegistry().register('test', () => ({
    preCheck: step('preCheck'),
    execute: step('execute'),
    postCheck: step('postCheck'),
    rollback: step('rollback'),
  }));
  return { registry, calls, active };
}
