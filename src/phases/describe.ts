/** What each leaf of a plan would do, in the executors' own words, for dry runs. Touches nothing. */
import pino from 'pino';
import { ExitCode, HoistError } from '../errors.js';
import { leaves } from '../plan/query.js';
import type { Plan } from '../plan/types.js';
import type { OperationRecord } from '../store/store.js';
import { phaseRegistry } from './index.js';

/** Leaf id → one line from its executor's `describe` (leaves without one are left out). */
export function describePlan(plan: Plan, operation: OperationRecord): Map<string, string> {
  const refuse = (): never => {
    throw new HoistError('ERR_DRY_RUN', 'a dry run reaches no node', ExitCode.internal);
  };
  const registry = phaseRegistry({
    nodes: {
      run: refuse,
      hello: refuse,
      reset: refuse,
      where: (n) => `on ${n}`,
      nodeNames: () => plan.servers.map((s) => s.name),
      close: async () => undefined,
    },
    version: '',
    image: refuse,
  });
  const logger = pino({ level: 'silent' });
  const out = new Map<string, string>();
  for (const phase of leaves(plan.phases)) {
    const text = phase.executor ? registry.get(phase.executor).describe?.({ plan, phase, operation, logger }) : undefined;
    if (text) out.set(phase.id, text);
  }
  return out;
}
