/** Leaf counts by state: what completion decides on and what `hoist status` shows. */
import type { PlanState } from '../fsm/plan-state.js';

/** Leaf tallies used by completion and by `hoist status`. */
export interface PlanTally {
  total: number;
  completed: number;
  failed: number;
  inProgress: number;
  untouched: number;
}

/** Counts leaves by state; `untouched` = unstarted or rolled back. */
export function tally(state: PlanState): PlanTally {
  const t: PlanTally = { total: 0, completed: 0, failed: 0, inProgress: 0, untouched: 0 };
  for (const id of state.leafIds()) {
    t.total++;
    const s = state.stateOf(id);
    if (s === 'completed') t.completed++;
    else if (s === 'failed') t.failed++;
    else if (s === 'in_progress') t.inProgress++;
    else t.untouched++;
  }
  return t;
}
