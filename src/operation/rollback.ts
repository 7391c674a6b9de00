/** `hoist rollback`: undo every started phase of the operation, newest first, then close it as failed. */
import { rollbackOperation, rollbackOrder } from '../fsm/rollback.js';
import type { Phase } from '../plan/types.js';
import { redeployOfflineAgents, releaseNodes } from './agents.js';
import { type Completion, completeUpgrade } from './complete.js';
import { makeEngine } from './engine.js';
import { type OperationEnv, operationStarted } from './env.js';
import { completionEvent, recordHistory } from './history.js';
import { type OperationRef, withOperation } from './locked.js';

/** The phases undone, newest first, and how the operation was closed (absent on a dry run). */
export interface RollbackOutcome {
  phases: Phase[];
  completion?: Completion;
}

/**
 * Rolls back the whole operation under the cluster lock. `ref.seen` is the record the operator
 * confirmed: if another command changed the operation meanwhile, nothing is rolled back. A dry
 * run changes nothing; with `announce` it prints each phase it would undo.
 */
export async function rollbackUpgrade(
  env: OperationEnv,
  ref: OperationRef,
  opts: { dryRun?: boolean; announce?: boolean } = {},
): Promise<RollbackOutcome> {
  return withOperation(
    env,
    ref,
    async ({ op, lease }) => {
      const store = env.store();
      if (!opts.dryRun) operationStarted(env, op, false);
      const [plan, changes] = await Promise.all([store.getPlan(op.cluster, op.id), store.readChanges(op.cluster, op.id)]);
      if (!opts.dryRun && !env.offline) await redeployOfflineAgents(env, op.id);
      const engine = await makeEngine(env, op, plan, changes);
      if (opts.dryRun) {
        const order = rollbackOrder(engine);
        if (opts.announce) await rollbackOperation(engine, { dryRun: true });
        return { phases: order };
      }
      const phases = await rollbackOperation(engine);
      const completion = await completeUpgrade(store, op, engine.state, { reason: 'rolled back', lease });
      await recordHistory(env, op.cluster, completionEvent(completion));
      await releaseNodes(env, op.id);
      return { phases, completion };
    },
    { quiet: !!opts.dryRun },
  );
}
