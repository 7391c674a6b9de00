/** Driving phases of an existing operation: `plan execute`, `plan rollback`, `plan resume`. */
import { cancelPhase } from '../fsm/cancel.js';
import { rollbackPhase } from '../fsm/rollback.js';
import type { PhaseState } from '../plan/types.js';
import type { OperationRecord } from '../store/store.js';
import { makeEngine } from './engine.js';
import type { OperationEnv } from './env.js';

/** What to do with the plan. `execute` of `/` runs the whole plan, like `resume`. */
export type PhaseAction =
  | { kind: 'execute'; phase: string; force: boolean }
  | { kind: 'rollback'; phase: string; force: boolean }
  | { kind: 'resume'; force: boolean }
  | { kind: 'cancel'; phase: string };

/** Where the acted-on phase ended. */
export interface PhaseOutcome {
  phase: string;
  state: PhaseState;
}

/** Runs `action` on the operation's plan under the cluster lock. */
export async function runPhases(env: OperationEnv, op: OperationRecord, action: PhaseAction): Promise<PhaseOutcome> {
  const store = env.store();
  const run = async (): Promise<PhaseOutcome> => {
    env.useOperationLog(op);
    const [plan, changes] = await Promise.all([store.getPlan(op.cluster, op.id), store.readChanges(op.cluster, op.id)]);
    const engine = await makeEngine(env, op, plan, changes);
    const phase = action.kind === 'resume' ? '/' : action.phase;
    if (action.kind === 'execute') await engine.execute(phase, { force: action.force });
    else if (action.kind === 'rollback') await rollbackPhase(engine, phase, { force: action.force });
    else if (action.kind === 'cancel') await cancelPhase(engine, phase);
    else await engine.resume();
    return { phase, state: engine.state.stateOf(phase) };
  };
  // resume --force: the operator knows the live-looking holder is gone; fencing keeps it harmless.
  return env.withLock(op.cluster, run, { takeOver: action.kind === 'resume' && action.force });
}
