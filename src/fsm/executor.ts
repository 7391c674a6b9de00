/**
 * Executor contract and registry. The engine reaches executors only through a registry it is
 * given, so tests and later transports register their own.
 */
import type { Logger } from 'pino';
import { StateError } from '../errors.js';
import type { Phase, Plan } from '../plan/types.js';
import type { OperationRecord } from '../store/store.js';

/** What an executor gets for one run of one leaf. */
export interface PhaseContext {
  plan: Plan;
  phase: Phase;
  operation: OperationRecord;
  logger: Logger;
  /** Aborted on SIGINT or timeout; executors must stop promptly and throw. */
  signal: AbortSignal;
  /** Short live status ("waiting for pod x (budget y)"), shown with the next progress line. */
  report(status: string): void;
  /** This run of the phase (see ExecutorOwner.attempt); requests to nodes carry it. */
  attempt?: string;
  /** Epoch of the cluster lease the run holds, and who runs it; requests to nodes carry them. */
  epoch?: number;
  holder?: { host: string; pid: number };
  /** A node accepted a request of this phase as execution `id`: recorded before the work goes on. */
  onExecution?(node: string, id: string): void;
  /** Output of the phase's node work (hook, kubectl); its last lines are shown if the phase fails. */
  output?(data: string): void;
}

/**
 * The engine's view of node executions (implemented over the agents): what a resume asks before
 * it runs an interrupted phase again, and what a rollback or cancel needs.
 */
export interface NodeExecutions {
  /** `unknown`: the node has no record of it (another node, or records removed). */
  inspect(node: string, execution: string, ids: ExecutionIds): Promise<'running' | 'finished' | 'died' | 'unknown'>;
  /** Follows a running execution to its end (aborting the wait cancels it). */
  follow(node: string, execution: string, ids: ExecutionIds & { signal?: AbortSignal }): Promise<void>;
  /** Cancels the live executions of a phase on a node; resolves with their ids once they ended. */
  cancel(node: string, ids: ExecutionIds): Promise<string[]>;
}

/** Identity of the requests a phase run sends. */
export interface ExecutionIds {
  operationId: string;
  phaseId: string;
  epoch?: number;
  holder?: { host: string; pid: number };
}

/**
 * Code behind a leaf. Every method must be idempotent: `resume` re-runs a phase that was
 * interrupted at any point.
 */
export interface Executor {
  /** Fails fast when the phase cannot run; the failure is recorded as `failed`. */
  preCheck?(ctx: PhaseContext): Promise<void>;
  execute(ctx: PhaseContext): Promise<void>;
  /** Verifies the effect; a failure is recorded as `failed`. */
  postCheck?(ctx: PhaseContext): Promise<void>;
  rollback(ctx: PhaseContext): Promise<void>;
  /** One line for dry runs: what execute would do. */
  describe?(ctx: Omit<PhaseContext, 'signal' | 'report'>): string;
}

/** Where the executor runs, for progress lines ("locally" / "on node-2"). */
export type ExecutorFactory = () => Executor;

/** Executor keys mapped to factories. */
export class ExecutorRegistry {
  private readonly factories = new Map<string, ExecutorFactory>();

  register(key: string, factory: ExecutorFactory): this {
    this.factories.set(key, factory);
    return this;
  }

  has(key: string): boolean {
    return this.factories.has(key);
  }

  keys(): string[] {
    return [...this.factories.keys()];
  }

  /** The executor for a key; an unknown key yields one whose preCheck fails visibly. */
  get(key: string): Executor {
    const factory = this.factories.get(key);
    return factory ? factory() : unavailable(key);
  }
}

/** Stands in for work that this build of hoist cannot do yet: never faked, always refused. */
export function unavailable(key: string): Executor {
  const refuse = async (): Promise<never> => {
    throw new StateError('ERR_EXECUTOR_UNAVAILABLE', `executor "${key}" is not available in this build of hoist`, {
      hint: 'this phase has no implementation yet; roll the operation back with "hoist rollback" or complete it with "hoist plan complete --force"',
    });
  };
  return { preCheck: refuse, execute: refuse, rollback: refuse };
}
