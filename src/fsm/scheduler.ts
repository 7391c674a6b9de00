/**
 * Runs a group's children: at most `limit` at once, each only when its requirements are met,
 * in plan order. After the first failure nothing new starts; running siblings finish and the
 * first error is rethrown (errors of the others are logged by the engine as they are recorded).
 */
import { InterruptedError, StateError } from '../errors.js';
import type { Phase } from '../plan/types.js';

/** Callbacks into the engine. */
export interface ChildRunner {
  limit: number;
  isDone(child: Phase): boolean;
  isReady(child: Phase): boolean;
  run(child: Phase): Promise<void>;
  /** First unmet requirement of a child that can never become ready. */
  blocked(child: Phase): string;
  signal: AbortSignal;
}

/** Runs the children of `group` under the runner's limit. */
export async function runChildren(group: Phase, runner: ChildRunner): Promise<void> {
  const pending = (group.phases ?? []).filter((c) => !runner.isDone(c));
  const limit = Math.max(1, runner.limit);
  const running = new Map<Phase, Promise<void>>();
  let firstError: unknown;

  while (pending.length > 0 || running.size > 0) {
    if (firstError === undefined && !runner.signal.aborted) {
      for (let i = 0; i < pending.length && running.size < limit; ) {
        const child = pending[i]!;
        if (!runner.isReady(child)) {
          i++;
          continue;
        }
        pending.splice(i, 1);
        const task = runner.run(child).then(
          () => void running.delete(child),
          (err: unknown) => {
            running.delete(child);
            if (firstError === undefined) firstError = err;
          },
        );
        running.set(child, task);
      }
    }
    if (running.size === 0) {
      if (firstError !== undefined) throw firstError;
      if (runner.signal.aborted) throw new InterruptedError();
      if (pending.length > 0) {
        const child = pending[0]!;
        const req = runner.blocked(child);
        throw new StateError('ERR_REQUIRES_NOT_COMPLETED', `required phase "${req}" is not completed`, {
          phase: child.id,
          hint: `execute "${req}" first: hoist plan execute --phase ${req}`,
        });
      }
      return;
    }
    await Promise.race(running.values());
  }
  if (firstError !== undefined) throw firstError;
}
