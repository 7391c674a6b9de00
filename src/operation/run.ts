/**
 * Driving phases of an existing operation: `plan execute`, `plan rollback`, `plan resume`,
 * `plan cancel`. Before any phase runs, the image is checked against the operation's pinned
 * digest and offline agents are deployed again. A run that leaves the whole plan completed
 * closes the operation and shuts the agents down, as an automatic upgrade does.
 */
import { ExitCode, HoistError } from '../errors.js';
import { cancelPhase } from '../fsm/cancel.js';
import { rollbackPhase } from '../fsm/rollback.js';
import type { PhaseState } from '../plan/types.js';
import { redeployOfflineAgents, shutdownAgents } from './agents.js';
import { type Completion, completeUpgrade } from './complete.js';
import { makeEngine } from './engine.js';
import { type OperationEnv, operationStarted } from './env.js';
import { completionEvent, failureEvent, recordHistory } from './history.js';
import { operationImage } from './image.js';
import { type OperationRef, withOperation } from './locked.js';
import { tally } from './tally.js';

/** What to do with the plan. `execute` of `/` runs the whole plan, like `resume`. */
export type PhaseAction =
  | { kind: 'execute'; phase: string; force: boolean }
  | { kind: 'rollback'; phase: string; force: boolean }
  | { kind: 'resume'; force: boolean }
  | { kind: 'cancel'; phase: string };

/** Where the acted-on phase ended, and the operation's close if the run finished the plan. */
export interface PhaseOutcome {
  operation: string;
  phase: string;
  state: PhaseState;
  completion?: Completion;
}

/** Runs `action` on the operation's plan under the cluster lock. */
export async function runPhases(env: OperationEnv, ref: OperationRef, action: PhaseAction): Promise<PhaseOutcome> {
  // resume --force: the operator knows the live-looking holder is gone; fencing keeps it harmless.
  const request = { takeOver: action.kind === 'resume' && action.force };
  return withOperation(
    env,
    ref,
    async ({ op, lease }) => {
      const store = env.store();
      operationStarted(env, op, false);
      const [plan, changes] = await Promise.all([store.getPlan(op.cluster, op.id), store.readChanges(op.cluster, op.id)]);
      const image = operationImage(env, op);
      const phase = action.kind === 'resume' ? '/' : action.phase;
      const whole = phase === '/' && (action.kind === 'execute' || action.kind === 'resume');
      if (!env.offline && action.kind !== 'cancel') {
        // Another image at the operation's path is refused before any phase runs (exit 3), not as
        // a failed phase half-way. Offline (--state) no phase can run, so nothing is opened.
        if (action.kind !== 'rollback' && op.source && op.imageDigest) await image();
        await redeployOfflineAgents(env, op.id);
      }
      const engine = await makeEngine(env, op, plan, changes, image);
      try {
        if (action.kind === 'execute') await engine.execute(phase, { force: action.force });
        else if (action.kind === 'rollback') await rollbackPhase(engine, phase, { force: action.force });
        else if (action.kind === 'cancel') await cancelPhase(engine, phase);
        else await engine.resume();
      } catch (err) {
        if (HoistError.isHoistError(err) && err.exitCode === ExitCode.phaseFailed)
          await recordHistory(env, op.cluster, failureEvent(op.id, err));
        throw err;
      }
      const outcome: PhaseOutcome = { operation: op.id, phase, state: engine.state.stateOf(phase) };
      const t = tally(engine.state);
      if (!whole || t.completed !== t.total) return outcome;
      outcome.completion = await completeUpgrade(store, op, engine.state, { lease });
      await recordHistory(env, op.cluster, completionEvent(outcome.completion));
      if (!env.offline) await shutdownAgents(env, { released: op.id });
      return outcome;
    },
    { request },
  );
}
