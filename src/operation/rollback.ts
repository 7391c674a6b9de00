/** `hoist rollback`: undo every started phase of the operation, newest first, then close it as failed. */
import { rollbackOperation, rollbackOrder } from '../fsm/rollback.js';
import type { Phase } from '../plan/types.js';
import type { OperationRecord } from '../store/store.js';
import { releaseNodes } from './agents.js';
import { type Completion, completeUpgrade } from './complete.js';
import { makeEngine } from './engine.js';
import type { OperationEnv } from './env.js';

/** The phases undone, newest first, and how the operation was closed (absent on a dry run). */
export interface RollbackOutcome {
  phases: Phase[];
  completion?: Completion;
}

/**
 * Rolls back the whole operation under the cluster lock. A dry run changes nothing; with
 * `announce` it prints each phase it would undo.
 */
export async function rollbackUpgrade(
  env: OperationEnv,
  op: OperationRecord,
  opts: { dryRun?: boolean; announce?: boolean } = {},
): Promise<RollbackOutcome> {
  const store = env.store();
  return env.withLock(op.cluster, async (lease) => {
    if (!opts.dryRun) env.useOperationLog(op);
    const [plan, changes] = await Promise.all([store.getPlan(op.cluster, op.id), store.readChanges(op.cluster, op.id)]);
    const engine = await makeEngine(env, op, plan, changes);
    if (opts.dryRun) {
      const order = rollbackOrder(engine);
      if (opts.announce) await rollbackOperation(engine, { dryRun: true });
      return { phases: order };
    }
    const phases = await rollbackOperation(engine);
    const completion = await completeUpgrade(store, op, engine.state, { reason: 'rolled back', lease });
    await releaseNodes(env, op.id);
    return { phases, completion };
  });
}
