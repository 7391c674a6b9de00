/**
 * Plan data model. A plan is built once and never rewritten; phase states come from the
 * changelog (see resolve.ts). Everything here is plain JSON.
 */

/** The five stored phase states (spec §4.1). */
export const PHASE_STATES = ['unstarted', 'in_progress', 'completed', 'failed', 'rolled_back'] as const;
export type PhaseState = (typeof PHASE_STATES)[number];

/** Last error of a phase, as recorded in the changelog. */
export interface PhaseError {
  code: string;
  message: string;
  /** The last lines the failed work printed (hook or job log, kubectl), oldest first. */
  output?: string[];
}

/** A cluster node as the plan knows it. */
export interface PlanServer {
  name: string;
  address: string;
  role: 'master' | 'worker';
}

/** One phase of the tree as built (no state). */
export interface Phase {
  /** Absolute path, e.g. `/masters/node-1/drain`. */
  id: string;
  /** Executor key (kebab-case); absent on pure groups. */
  executor?: string;
  description: string;
  /** Node that runs the phase (name). Absent on groups. */
  node?: string;
  /** Node the phase is about (name), when that differs from where it runs. */
  server?: string;
  /** Absolute ids that must be completed before this phase or any descendant runs. */
  requires: string[];
  /** Children that may run at once; 1 = one at a time. Groups only. */
  parallel?: number;
  /** Executor parameters (versions, packages, flags). */
  data?: Record<string, unknown>;
  phases?: Phase[];
}

/** The plan of one operation. */
export interface Plan {
  operationId: string;
  operationType: 'upgrade';
  cluster: string;
  createdAt: string;
  /** Installed image version and target version. */
  from: string;
  to: string;
  /** Lead master (coordinator) name. */
  leader: string;
  servers: PlanServer[];
  phases: Phase[];
}

/** Who is running an in-progress phase: an orchestrator process, or an agent execution. */
export interface ExecutorOwner {
  host: string;
  pid: number;
  /** Agent execution id when the work runs on a node's agent. */
  execution?: string;
  /** Lease epoch of the run that started the phase. */
  epoch?: number;
  /**
   * This run of the phase. A resume of an interrupted phase continues the same attempt, so the
   * nodes answer its requests with the executions it started (each step runs once).
   */
  attempt?: string;
  /** The node executions this attempt started so far, oldest first. */
  executions?: { node: string; id: string }[];
}

/** One appended state change. `seq` orders changes; wall clocks never do. */
export interface PlanChange {
  seq: number;
  phase: string;
  state: PhaseState;
  at: string;
  /** Whether the change comes from executing or rolling back the phase. */
  action?: 'execute' | 'rollback';
  error?: PhaseError;
  owner?: ExecutorOwner;
  /** Set by hand (`hoist plan set`), not by running the phase. */
  override?: PhaseOverride;
}

/** A state an operator set by hand, and why. */
export interface PhaseOverride {
  reason: string;
  /** `user@host` of the command that set it. */
  by: string;
}

/** A phase with its resolved state. */
export interface PhaseView extends Omit<Phase, 'phases'> {
  state: PhaseState;
  /** Time of the last change (max over children for groups). */
  updated?: string;
  error?: PhaseError;
  owner?: ExecutorOwner;
  /** In progress, but the process that owned it is gone: `resume` re-runs it. */
  interrupted?: boolean;
  /** The state was set by hand (`hoist plan set`). */
  override?: PhaseOverride;
  phases?: PhaseView[];
}

/** A plan with every phase's state resolved from the changelog. */
export interface PlanView extends Omit<Plan, 'phases'> {
  phases: PhaseView[];
}
