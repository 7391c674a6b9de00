/**
 * Schedule efficiency of a finished run, from its plan and changelog alone: each leaf's measured
 * duration (its last `in_progress` to the `completed` that follows), replayed by an ideal
 * scheduler with the engine's rules (top-level phases in order, a group's children in plan order,
 * at most `parallel` at once, each only once its requirements are completed) and no overhead at
 * all between phases. Ideal makespan / real span is independent of the machine's speed: a slow
 * machine stretches both.
 */
import type { Phase, Plan, PlanChange } from '../plan/types.js';

/** When one leaf ran, ms since the epoch. */
export interface LeafRun {
  start: number;
  end: number;
}

/**
 * The last completed execute attempt of every leaf, by phase id: from the attempt's first
 * `in_progress` (a running phase appends more as it starts node executions) to its `completed`.
 */
export function leafRuns(changes: readonly PlanChange[]): Map<string, LeafRun> {
  const started = new Map<string, { at: number; attempt: string }>();
  const runs = new Map<string, LeafRun>();
  for (const c of [...changes].sort((a, b) => a.seq - b.seq)) {
    if (c.action === 'rollback') {
      started.delete(c.phase);
      continue;
    }
    const at = Date.parse(c.at);
    const o = c.owner;
    const attempt = o?.attempt ?? `${o?.host}/${o?.pid}/${o?.epoch}`;
    if (c.state === 'in_progress') {
      if (started.get(c.phase)?.attempt !== attempt) started.set(c.phase, { at, attempt });
    } else {
      const s = started.get(c.phase);
      if (c.state === 'completed' && s) runs.set(c.phase, { start: s.at, end: at });
      started.delete(c.phase);
    }
  }
  return runs;
}

/** The real span of a phase (leaf or group): its first leaf's start to its last leaf's end. */
export function realSpan(phase: Phase, runs: Map<string, LeafRun>): LeafRun | undefined {
  const own = leavesOf(phase).flatMap((l) => (runs.has(l.id) ? [runs.get(l.id)!] : []));
  if (own.length === 0) return undefined;
  return { start: Math.min(...own.map((r) => r.start)), end: Math.max(...own.map((r) => r.end)) };
}

/**
 * The makespan the engine's scheduling rules reach with zero overhead, for `phases` run one after
 * the other (a plan's top level, or one group alone); a leaf without a run takes no time.
 */
export function idealMakespan(phases: readonly Phase[], runs: Map<string, LeafRun>): number {
  const done = new Map<string, number>();
  let t = 0;
  for (const phase of phases) t = simulate(phase, t, runs, done);
  return t;
}

/** Ideal makespan / real span of `phase` (1 = no scheduling loss), with both figures. */
export function scheduleEfficiency(phase: Phase, runs: Map<string, LeafRun>): { ideal: number; real: number; efficiency: number } {
  const span = realSpan(phase, runs);
  const ideal = idealMakespan([phase], runs);
  const real = span ? span.end - span.start : 0;
  return { ideal, real, efficiency: real > 0 ? ideal / real : 1 };
}

/** The same for a whole plan: its top-level phases in order against its first start to last end. */
export function planEfficiency(plan: Plan, runs: Map<string, LeafRun>): { ideal: number; real: number; efficiency: number } {
  return scheduleEfficiency({ id: '/', description: '', requires: [], phases: plan.phases }, runs);
}

/** Runs `phase` from time `t` on the ideal scheduler; returns when it ends and records every end in `done`. */
function simulate(phase: Phase, t: number, runs: Map<string, LeafRun>, done: Map<string, number>): number {
  const children = phase.phases ?? [];
  if (children.length === 0) {
    const run = runs.get(phase.id);
    const end = t + (run ? run.end - run.start : 0);
    done.set(phase.id, end);
    return end;
  }
  const limit = Math.max(1, phase.parallel ?? 1);
  const pending = [...children];
  const running: { phase: Phase; end: number }[] = [];
  let now = t;
  // A requirement outside this simulation's knowledge (never simulated) counts as met, as the
  // engine checked it before the group started.
  const ready = (c: Phase) => c.requires.every((r) => !isKnown(r, done, children) || (done.get(r) ?? Number.POSITIVE_INFINITY) <= now);
  while (pending.length > 0 || running.length > 0) {
    for (let i = 0; i < pending.length && running.length < limit; ) {
      const child = pending[i]!;
      if (!ready(child)) {
        i++;
        continue;
      }
      pending.splice(i, 1);
      running.push({ phase: child, end: simulate(child, now, runs, done) });
    }
    if (running.length === 0) break; // unreachable requirements: the engine would refuse as well
    running.sort((a, b) => a.end - b.end);
    now = running.shift()!.end;
  }
  const end = Math.max(now, ...running.map((r) => r.end));
  done.set(phase.id, end);
  return end;
}

/** Whether a requirement is decided inside this simulation: done already, or a sibling (or its descendant) still to run. */
function isKnown(id: string, done: Map<string, number>, siblings: readonly Phase[]): boolean {
  return done.has(id) || siblings.some((s) => id === s.id || id.startsWith(`${s.id}/`));
}

function leavesOf(phase: Phase): Phase[] {
  return phase.phases?.length ? phase.phases.flatMap(leavesOf) : [phase];
}
