/**
 * The engine's working copy of a plan's states. Built once from the changelog, then kept in step
 * with every change the engine appends, so that a run over a large plan never re-resolves it.
 * Only leaves hold state; groups derive theirs on demand (spec §4.2).
 */

import { ancestorIds, indexPhases, leaves } from '../plan/query.js';
import { deriveState } from '../plan/resolve.js';
import type { Phase, PhaseState, Plan, PlanChange } from '../plan/types.js';

/** State of one leaf plus whether its execute side effects may still be in place. */
export interface LeafState {
  state: PhaseState;
  change?: PlanChange;
  /**
   * True once an execute got past its preCheck, false again after a successful rollback.
   * A leaf that only ever failed its preCheck changed nothing, so its rollback has nothing to undo.
   */
  applied: boolean;
}

export class PlanState {
  readonly index: Map<string, Phase>;
  private readonly leafStates = new Map<string, LeafState>();

  constructor(
    readonly plan: Plan,
    changes: readonly PlanChange[],
  ) {
    this.index = indexPhases(plan.phases);
    for (const leaf of leaves(plan.phases)) this.leafStates.set(leaf.id, { state: 'unstarted', applied: false });
    const ordered = [...changes].sort((a, b) => a.seq - b.seq);
    for (const change of ordered) this.apply(change);
  }

  /** Records a change (already persisted) in the working copy. */
  apply(change: PlanChange): void {
    const leaf = this.leafStates.get(change.phase);
    if (!leaf) return;
    leaf.state = change.state;
    leaf.change = change;
    if (change.state === 'in_progress' && change.action !== 'rollback') leaf.applied = true;
    if (change.state === 'rolled_back') leaf.applied = false;
    // A state set by hand is the operator's word on what is in place: completed means the work
    // is there (a rollback undoes it), unstarted that nothing is.
    if (change.override && change.state === 'completed') leaf.applied = true;
    if (change.override && change.state === 'unstarted') leaf.applied = false;
  }

  phase(id: string): Phase | undefined {
    return this.index.get(id);
  }

  leaf(id: string): LeafState | undefined {
    return this.leafStates.get(id);
  }

  /** Derived state of any phase; `/` is the whole plan. */
  stateOf(id: string): PhaseState {
    if (id === '/') return deriveState(this.plan.phases.map((p) => this.stateOf(p.id)));
    const leaf = this.leafStates.get(id);
    if (leaf) return leaf.state;
    const phase = this.index.get(id);
    if (!phase?.phases?.length) return 'unstarted';
    return deriveState(phase.phases.map((c) => this.stateOf(c.id)));
  }

  /** Requirements of a phase and all its ancestors that are not completed yet. */
  unmetRequirements(id: string): string[] {
    const unmet: string[] = [];
    for (const pid of [id, ...ancestorIds(id)]) {
      for (const req of this.index.get(pid)?.requires ?? []) {
        if (this.stateOf(req) !== 'completed' && !unmet.includes(req)) unmet.push(req);
      }
    }
    return unmet;
  }

  /** Every leaf, plan order. */
  leafIds(): string[] {
    return [...this.leafStates.keys()];
  }
}
