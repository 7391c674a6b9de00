/** `plan complete`: close the operation under the cluster lock. */
import { PlanState } from '../fsm/plan-state.js';
import type { OperationRecord } from '../store/store.js';
import { releaseNodes } from './agents.js';
import { type Completion, completeUpgrade } from './complete.js';
import type { OperationEnv } from './env.js';

/** Completes `op` from its current plan state; `force` closes a partly applied plan as failed. */
export async function finishOperation(env: OperationEnv, op: OperationRecord, opts: { force: boolean }): Promise<Completion> {
  const store = env.store();
  return env.withLock(op.cluster, async (lease) => {
    env.useOperationLog(op);
    const [plan, changes] = await Promise.all([store.getPlan(op.cluster, op.id), store.readChanges(op.cluster, op.id)]);
    const done = await completeUpgrade(store, op, new PlanState(plan, changes), { force: opts.force, lease });
    await releaseNodes(env, op.id);
    if (done.forced) {
      env.logger.warn(
        { event: 'operation.forced' },
        `operation ${op.id} closed as failed while partly applied: the cluster is partly upgraded`,
      );
    }
    return done;
  });
}
