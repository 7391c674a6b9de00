/**
 * `hoist plan set --phase P --state S --reason TEXT`: the escape hatch of Gravity's hidden
 * `plan set`, recorded. The operator's word replaces a leaf's state in the changelog (with the
 * reason and who gave it, shown by `hoist plan`) and in the status history; nothing runs on a
 * node. A leaf still in progress is refused: its work may still run, `plan cancel` stops it.
 */
import { StateError, UsageError } from '../errors.js';
import { PlanState } from '../fsm/plan-state.js';
import type { Phase, PhaseState } from '../plan/types.js';
import type { OperationEnv } from './env.js';
import { recordHistory } from './history.js';
import { type OperationRef, withOperation } from './locked.js';

/** States an operator may set by hand. */
export const SETTABLE_STATES = ['completed', 'failed', 'unstarted'] as const;
export type SettableState = (typeof SETTABLE_STATES)[number];

/** What `plan set` asks for. */
export interface OverrideRequest {
  phase: string;
  state: SettableState;
  reason: string;
}

/** What was recorded: the leaf's state before and after. */
export interface OverrideOutcome {
  operation: string;
  phase: string;
  from: PhaseState;
  to: SettableState;
}

/** Checks what needs no store: a reason that says something. */
export function checkOverride(req: OverrideRequest): void {
  if (!req.reason.trim()) {
    throw new UsageError('ERR_USAGE_REASON', '--reason is empty: say why the state is set by hand', {
      hint: 'for example --reason "drained by hand after the eviction API hung"',
    });
  }
}

/** A group's state follows its children: only leaves are set. */
export function refuseGroup(phase: Phase): void {
  if (!phase.phases?.length) return;
  throw new UsageError('ERR_PLAN_SET_GROUP', `phase "${phase.id}" is a group: its state follows its children's`, {
    phase: phase.id,
    hint: `set its leaves one by one, e.g. ${phase.phases[0]!.id}`,
  });
}

/** Records the override under the cluster lease; refuses groups, unknown and in-progress phases. */
export async function overridePhase(env: OperationEnv, ref: OperationRef, req: OverrideRequest): Promise<OverrideOutcome> {
  checkOverride(req);
  return withOperation(env, ref, async ({ op, lease }) => {
    const store = env.store();
    const [plan, changes] = await Promise.all([store.getPlan(op.cluster, op.id), store.readChanges(op.cluster, op.id)]);
    const state = new PlanState(plan, changes);
    const phase = state.phase(req.phase);
    if (!phase) {
      throw new StateError('ERR_PHASE_NOT_FOUND', `phase "${req.phase}" not found in the plan of operation ${op.id}`, {
        phase: req.phase,
        hint: 'run "hoist plan" to see the phase ids of the operation',
      });
    }
    refuseGroup(phase);
    const from = state.stateOf(req.phase);
    if (from === 'in_progress') {
      throw new StateError('ERR_PHASE_IN_PROGRESS', `phase "${req.phase}" is in progress: its work may still run on the node`, {
        phase: req.phase,
        hint: `stop it first with "hoist plan cancel --phase ${req.phase}", then set its state`,
      });
    }
    const { host, user } = env.creator();
    const previous = state.leaf(req.phase)?.change;
    await store.appendChange(
      op.cluster,
      op.id,
      {
        phase: req.phase,
        state: req.state,
        at: new Date().toISOString(),
        action: previous?.action ?? 'execute',
        override: { reason: req.reason.trim(), by: `${user}@${host}` },
        ...(req.state === 'failed' ? { error: { code: 'ERR_SET_BY_HAND', message: `set failed by hand: ${req.reason.trim()}` } } : {}),
      },
      lease,
    );
    env.logger.info({ event: 'phase.override', phase: req.phase, from, to: req.state, reason: req.reason }, 'phase state set by hand');
    await recordHistory(env, op.cluster, {
      type: 'override',
      operation: op.id,
      phase: req.phase,
      message: `state set by hand: ${from} → ${req.state}: ${req.reason.trim()}`,
    });
    return { operation: op.id, phase: req.phase, from, to: req.state };
  });
}
