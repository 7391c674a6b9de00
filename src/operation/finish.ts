/** `plan complete`: close the operation under the cluster lock, or report that a repair already closed it. */
import { StateError } from '../errors.js';
import { PlanState } from '../fsm/plan-state.js';
import { releaseNodes } from './agents.js';
import { type Completion, completeUpgrade } from './complete.js';
import type { OperationEnv } from './env.js';
import { completionEvent, recordHistory } from './history.js';
import { type OperationRef, withOperation } from './locked.js';

/** A completion, with the repairs that were needed on the way (empty normally). */
export interface Finish extends Completion {
  repairs: string[];
}

/**
 * Completes the operation from its current plan state; `force` closes a partly applied plan as
 * failed. An operation already closed whose cluster record still said otherwise (a crash
 * between the two writes) is reported as closed once the repair is done.
 */
export async function finishOperation(env: OperationEnv, ref: OperationRef, opts: { force: boolean }): Promise<Finish> {
  return withOperation(
    env,
    ref,
    async ({ op, repairs, lease }) => {
      const store = env.store();
      if (op.state !== 'in_progress') {
        const cluster = await store.getCluster(op.cluster);
        if (repairs.length > 0 && cluster) return { operation: op, cluster, forced: false, repairs };
        throw new StateError('ERR_OPERATION_FINISHED', `operation ${op.id} is already ${op.state}`, { hint: 'see "hoist status"' });
      }
      const [plan, changes] = await Promise.all([store.getPlan(op.cluster, op.id), store.readChanges(op.cluster, op.id)]);
      const done = await completeUpgrade(store, op, new PlanState(plan, changes), { force: opts.force, lease });
      await recordHistory(env, op.cluster, completionEvent(done));
      await releaseNodes(env, op.id);
      if (done.forced) {
        env.logger.warn(
          { event: 'operation.forced' },
          `operation ${op.id} closed as failed while partly applied: the cluster is partly upgraded`,
        );
      }
      return { ...done, repairs };
    },
    { finished: true },
  );
}
