/**
 * Resolve: plan + changelog → plan view. Pure. The latest change of a leaf (highest `seq`) gives
 * its state; groups derive theirs from their children (spec §4.2).
 */
import type { ExecutorOwner, Phase, PhaseState, PhaseView, Plan, PlanChange, PlanView } from './types.js';

/** Tells whether the owner of an in-progress record still runs; absent = assume it does. */
export type OwnerProbe = (owner: ExecutorOwner | undefined) => boolean;

/** Derives a group's state from the set of its children's states (the five rules). */
export function deriveState(children: readonly PhaseState[]): PhaseState {
  const set = new Set(children);
  if (set.size === 0) return 'unstarted';
  if (set.size === 1) return children[0]!;
  if (set.has('failed')) return 'failed';
  if (set.has('in_progress')) return 'in_progress';
  if (!set.has('completed') && set.has('rolled_back')) return 'rolled_back';
  return 'in_progress';
}

/** Latest change per phase id; later `seq` wins regardless of clocks. */
export function latestChanges(changes: readonly PlanChange[]): Map<string, PlanChange> {
  const latest = new Map<string, PlanChange>();
  for (const change of changes) {
    const prev = latest.get(change.phase);
    if (!prev || change.seq > prev.seq) latest.set(change.phase, change);
  }
  return latest;
}

/** Applies the changelog to the plan. */
export function resolvePlan(plan: Plan, changes: readonly PlanChange[], isOwnerAlive?: OwnerProbe): PlanView {
  const latest = latestChanges(changes);
  const { phases, ...rest } = plan;
  return { ...rest, phases: phases.map((p) => resolvePhase(p, latest, isOwnerAlive)) };
}

function resolvePhase(phase: Phase, latest: Map<string, PlanChange>, isOwnerAlive?: OwnerProbe): PhaseView {
  const { phases, ...rest } = phase;
  if (phases && phases.length > 0) {
    const children = phases.map((c) => resolvePhase(c, latest, isOwnerAlive));
    let updated: string | undefined;
    for (const c of children) if (c.updated && (!updated || c.updated > updated)) updated = c.updated;
    const view: PhaseView = { ...rest, state: deriveState(children.map((c) => c.state)), phases: children };
    if (updated) view.updated = updated;
    if (children.some((c) => c.interrupted)) view.interrupted = true;
    return view;
  }
  const change = latest.get(phase.id);
  if (!change) return { ...rest, state: 'unstarted' };
  const view: PhaseView = { ...rest, state: change.state, updated: change.at };
  if (change.error) view.error = change.error;
  if (change.owner) view.owner = change.owner;
  if (change.override) view.override = change.override;
  if (change.state === 'in_progress' && isOwnerAlive && !isOwnerAlive(change.owner)) view.interrupted = true;
  return view;
}
