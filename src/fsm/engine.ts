/**
 * The phase state machine: execute and resume (this file), rollback (rollback.ts). It knows
 * phases, not upgrades: creating and completing operations lives in src/operation. Gravity's
 * rules (spec §4) with hoist's fixes: pre/post-check failures are recorded, interrupted phases
 * are re-run by resume, groups honour their `parallel` limit.
 *
 * The caller holds the cluster lock for the whole run, so this engine is the only writer of the
 * operation's changelog; every change is persisted before the working copy moves on.
 */
import type { Logger } from 'pino';
import { ExitCode, HoistError, InterruptedError, PhaseFailedError, StateError, toPhaseError, UnreachableError } from '../errors.js';
import type { ExecutorOwner, Phase, PhaseError, PhaseState, Plan, PlanChange } from '../plan/types.js';
import type { Lease, OperationRecord, Store } from '../store/store.js';
import type { Executor, ExecutorRegistry, NodeExecutions, PhaseContext } from './executor.js';
import { failureOutput, OutputTail } from './output-tail.js';
import { PhaseRun } from './phase-run.js';
import { PlanState } from './plan-state.js';
import { humanDuration, type ProgressSink, startTicker } from './progress.js';
import type { EventSink } from './run-events.js';
import { runChildren } from './scheduler.js';

/** Everything an engine run needs. */
export interface EngineOptions {
  store: Store;
  plan: Plan;
  operation: OperationRecord;
  changes: readonly PlanChange[];
  registry: ExecutorRegistry;
  logger: Logger;
  progress: ProgressSink;
  /** Recorded on every in-progress change so a later run can tell an interrupted phase. */
  owner: ExecutorOwner;
  /** The cluster lease: every change is fenced with it, and losing it aborts the run at once. */
  lease: Lease;
  /** The node executions of phases: a resume asks them before it runs a phase again. */
  executions?: NodeExecutions;
  signal?: AbortSignal;
  /** "locally" / "on node-2" for a leaf; default: on its node. */
  placement?: (phase: Phase) => string;
  /** Interval of the "Still executing" lines; default 10 s. */
  tickMs?: number;
  /** Receives the run's phase events (--events); none by default. */
  events?: EventSink;
  /** Per-phase deadline; default 1 h (Gravity's). */
  phaseTimeoutMs?: number;
  /** How long an interrupted executor gets to stop before the engine records it and moves on. */
  abortGraceMs?: number;
  now?: () => Date;
}

/** Execution modes of a single phase run. */
export interface RunFlags {
  force?: boolean;
  /** Resume semantics: interrupted in-progress leaves re-run without --force. */
  resume?: boolean;
}

const HOUR = 3_600_000;

export class Engine {
  readonly state: PlanState;
  readonly signal: AbortSignal;

  constructor(readonly opts: EngineOptions) {
    this.state = new PlanState(opts.plan, opts.changes);
    this.signal = opts.signal ? AbortSignal.any([opts.signal, opts.lease.signal]) : opts.lease.signal;
  }

  /** `plan execute --phase P`; `/` means the whole plan. */
  async execute(id: string, flags: RunFlags = {}): Promise<void> {
    if (id === '/' || id === '') return this.resume(flags);
    const phase = this.require(id);
    const started = Date.now();
    await this.runPhase(phase, flags, true);
    this.opts.progress.line(`Executing phase "${id}" finished in ${humanDuration(Date.now() - started)}`);
  }

  /** `plan resume`: the whole plan in order; completed skipped, failed and interrupted re-run. */
  async resume(flags: RunFlags = {}): Promise<void> {
    const started = Date.now();
    for (const phase of this.opts.plan.phases) {
      await this.runPhase(phase, { ...flags, resume: true }, false);
    }
    this.opts.progress.line(`Executing phase "/" finished in ${humanDuration(Date.now() - started)}`);
  }

  /** The phase with this id or a StateError naming it. */
  require(id: string): Phase {
    const phase = this.state.phase(id);
    if (!phase) {
      throw new StateError('ERR_PHASE_NOT_FOUND', `phase "${id}" not found`, {
        phase: id,
        hint: 'run "hoist plan" to see the phase ids of the operation',
      });
    }
    return phase;
  }

  /** Runs a phase (leaf or group) with Gravity's eligibility rules. */
  protected async runPhase(phase: Phase, flags: RunFlags, explicit: boolean): Promise<void> {
    const state = this.state.stateOf(phase.id);
    const isGroup = !!phase.phases?.length;
    if (state === 'completed') {
      // Gravity's `plan execute --force` of a completed phase runs it again; only a named leaf does.
      if (!(explicit && flags.force && !isGroup)) {
        if (explicit) this.alreadyCompleted(phase);
        return;
      }
      this.opts.progress.line(`Phase "${phase.id}" is completed; running it again because of --force`);
      this.opts.logger.warn({ event: 'phase.force', phase: phase.id }, 'completed phase re-run with --force');
    }
    if (isGroup && flags.force && !flags.resume) {
      throw new StateError('ERR_FORCE_COMPOSITE', `cannot use force with composite phase "${phase.id}"`, {
        phase: phase.id,
        hint: 'use --force only on a single phase',
      });
    }
    if (!isGroup && state === 'in_progress') this.checkInProgress(phase, flags);
    const unmet = this.state.unmetRequirements(phase.id);
    if (unmet.length > 0) {
      if (!(flags.force && !isGroup)) {
        throw new StateError('ERR_REQUIRES_NOT_COMPLETED', `required phase "${unmet[0]}" is not completed`, {
          phase: phase.id,
          hint: `execute "${unmet[0]}" first: hoist plan execute --phase ${unmet[0]}`,
        });
      }
      this.opts.logger.warn({ event: 'phase.force', phase: phase.id, unmet }, 'requirements bypassed with --force');
    }
    if (isGroup) {
      await runChildren(phase, {
        limit: phase.parallel ?? 1,
        isDone: (c) => this.state.stateOf(c.id) === 'completed',
        isReady: (c) => this.state.unmetRequirements(c.id).length === 0,
        run: (c) => this.runPhase(c, { resume: flags.resume }, false),
        signal: this.signal,
        blocked: (c) => this.state.unmetRequirements(c.id)[0] ?? c.id,
      });
      return;
    }
    await this.runLeaf(phase, flags);
  }

  private alreadyCompleted(phase: Phase): void {
    this.opts.logger.info({ event: 'phase.skip', phase: phase.id }, 'phase already completed');
    const again = phase.phases?.length ? '' : ` (--force runs it again)`;
    this.opts.progress.line(`Phase "${phase.id}" is already completed: nothing to do${again}`);
  }

  private checkInProgress(phase: Phase, flags: RunFlags): void {
    if (flags.force || flags.resume) return;
    const owner = this.state.leaf(phase.id)?.change?.owner;
    // We hold the lease, so a run under another epoch (or another process) lost or released it:
    // that phase is interrupted, provably, and needs no --force. Only our own run's is live.
    const me = this.opts.owner;
    const ours =
      owner && owner.host === me.host && owner.pid === me.pid && (owner.epoch ?? this.opts.lease.epoch) === this.opts.lease.epoch;
    if (!ours) return;
    throw new StateError('ERR_PHASE_IN_PROGRESS', `phase "${phase.id}" is in progress, use --force flag to force execution`, {
      phase: phase.id,
      hint: owner
        ? `it was started by pid ${owner.pid} on ${owner.host}; if that run is gone, re-run with --force or use "hoist plan resume"`
        : 're-run with --force or use "hoist plan resume"',
    });
  }

  /** preCheck → in_progress → execute → postCheck → completed; any failure is recorded. */
  private async runLeaf(phase: Phase, flags: RunFlags): Promise<void> {
    this.throwIfLeaseLost();
    if (this.signal.aborted) throw new InterruptedError();
    const executor = this.opts.registry.get(phase.executor ?? '');
    const where = this.placement(phase);
    this.opts.progress.line(`Executing "${phase.id}" ${where}`);
    const log = this.opts.logger.child({ phase: phase.id, node: phase.node });
    log.info({ event: 'phase.start', force: !!flags.force }, `Executing phase ${phase.id}`);

    // An interrupted attempt is continued: its node executions are re-attached, not started again.
    const previous = this.state.leaf(phase.id)?.change;
    const interrupted = previous?.state === 'in_progress' && previous.action !== 'rollback' ? previous.owner : undefined;
    const run = new PhaseRun(this, phase, 'execute', interrupted?.attempt ? interrupted : undefined);
    run.events.start();
    const { report, status, tick } = run.reporters();
    const stop = startTicker(this.opts.progress, 'executing', phase.id, where, status, this.opts.tickMs ?? 10_000, tick);
    try {
      if (interrupted?.executions?.length && !interrupted.attempt) await PhaseRun.refuseIfRunning(this, phase, interrupted, 'run again');
      await this.step(phase, executor, 'preCheck', log, report, run);
      await run.reattach(log, this.signal);
      await this.record(phase.id, 'in_progress', 'execute', undefined, run.owner());
      await this.step(phase, executor, 'execute', log, report, run);
      await this.step(phase, executor, 'postCheck', log, report, run);
      await run.settled();
      await this.record(phase.id, 'completed', 'execute');
      run.events.completed();
      log.info({ event: 'phase.complete' }, `Phase ${phase.id} completed`);
    } catch (err) {
      run.events.stopped(err);
      throw err;
    } finally {
      stop();
    }
  }

  /**
   * Runs one executor step under the abort signal and the phase deadline. A failure is recorded
   * as `failed` with its error and rethrown as PhaseFailedError or InterruptedError.
   */
  async step(
    phase: Phase,
    executor: Executor,
    name: 'preCheck' | 'execute' | 'postCheck' | 'rollback',
    log: Logger,
    report: (s: string) => void,
    run?: PhaseRun,
  ): Promise<void> {
    const fn = executor[name];
    if (!fn) return;
    const timeout = AbortSignal.timeout(this.opts.phaseTimeoutMs ?? HOUR);
    const signal = AbortSignal.any([this.signal, timeout]);
    const tail = new OutputTail();
    const ctx: PhaseContext = {
      plan: this.opts.plan,
      phase,
      operation: this.opts.operation,
      logger: log,
      signal,
      report,
      output: (data) => tail.push(data),
      ...run?.context(),
    };
    try {
      await this.untilAborted(fn.call(executor, ctx), signal);
    } catch (err) {
      await run?.settled();
      const action = name === 'rollback' ? 'rollback' : 'execute';
      // Without the lease nothing may be recorded: the new owner decides what this phase became.
      this.throwIfLeaseLost();
      if (this.signal.aborted) {
        await this.record(phase.id, 'failed', action, { code: 'ERR_INTERRUPTED', message: 'interrupted' });
        run?.events.failed({ code: 'ERR_INTERRUPTED', message: 'interrupted' }, 'continue with "hoist plan resume"');
        log.warn({ event: 'phase.fail', step: name }, 'interrupted');
        throw new InterruptedError(`phase "${phase.id}" was interrupted`, { phase: phase.id, hint: 'continue with "hoist plan resume"' });
      }
      const error: PhaseError = timeout.aborted
        ? { code: 'ERR_PHASE_TIMEOUT', message: `${name} did not finish within ${humanDuration(this.opts.phaseTimeoutMs ?? HOUR)}` }
        : toPhaseError(err);
      const message =
        name === 'preCheck'
          ? `precheck failed: ${error.message}`
          : name === 'postCheck'
            ? `postcheck failed: ${error.message}`
            : error.message;
      const output = failureOutput(err, tail);
      await this.record(phase.id, 'failed', action, { code: error.code, message, ...(output.length ? { output } : {}) });
      log.error({ event: 'phase.fail', step: name, err: error }, message);
      const prefix = name === 'rollback' ? 'rollback of ' : '';
      const hint = HoistError.isHoistError(err) && err.hint ? err.hint : nextStepsHint(phase.id, name === 'rollback');
      run?.events.failed({ code: error.code, message, ...(output.length ? { output } : {}) }, hint);
      // An unreachable node keeps exit 5 (architecture §9): what needs fixing is the node, not the phase.
      const Failure = HoistError.isHoistError(err) && err.exitCode === ExitCode.unreachable ? UnreachableError : PhaseFailedError;
      throw new Failure(error.code, `${prefix}phase "${phase.id}" failed: ${message}`, {
        phase: phase.id,
        node: phase.node,
        hint,
        details: output,
        cause: err,
      });
    }
  }

  /** Rethrows ERR_LOCK_LOST once the lease is gone. */
  throwIfLeaseLost(): void {
    if (this.opts.lease.signal.aborted) throw this.opts.lease.signal.reason;
  }

  /**
   * Waits for the step, but not forever once aborted: an executor gets a grace period to stop.
   * The grace covers cancelling node work (a hook gets TERM, then KILL 5 s later) and waiting
   * for it to end, so that an interrupted phase is recorded only once its work has stopped.
   */
  private untilAborted(work: Promise<void>, signal: AbortSignal): Promise<void> {
    const grace = this.opts.abortGraceMs ?? 30_000;
    return new Promise<void>((resolve, reject) => {
      let timer: NodeJS.Timeout | undefined;
      const onAbort = (): void => {
        timer = setTimeout(() => reject(signal.reason ?? new Error('aborted')), grace);
        timer.unref();
      };
      if (signal.aborted) onAbort();
      else signal.addEventListener('abort', onAbort, { once: true });
      work.then(
        () => {
          clearTimeout(timer);
          signal.removeEventListener('abort', onAbort);
          // Work that finished despite an abort is done; the run stops before the next step.
          resolve();
        },
        (err: unknown) => {
          clearTimeout(timer);
          signal.removeEventListener('abort', onAbort);
          reject(err);
        },
      );
    });
  }

  /** Persists a change, then applies it to the working copy. */
  async record(phase: string, state: PhaseState, action: 'execute' | 'rollback', error?: PhaseError, owner?: ExecutorOwner): Promise<void> {
    const change = await this.opts.store.appendChange(
      this.opts.plan.cluster,
      this.opts.plan.operationId,
      {
        phase,
        state,
        action,
        at: (this.opts.now?.() ?? new Date()).toISOString(),
        ...(error ? { error } : {}),
        ...(state === 'in_progress' ? { owner: { ...(owner ?? this.opts.owner), epoch: this.opts.lease.epoch } } : {}),
      },
      this.opts.lease,
    );
    this.state.apply(change);
  }

  placement(phase: Phase): string {
    if (this.opts.placement) return this.opts.placement(phase);
    return phase.node ? `on ${phase.node}` : 'locally';
  }
}

/** What to type next after a failure. */
export function nextStepsHint(id: string, rollingBack: boolean): string {
  return rollingBack
    ? `fix the cause, then retry with "hoist plan rollback --phase ${id}"`
    : `see "hoist plan"; fix the cause, then "hoist plan execute --phase ${id}" or "hoist plan resume"; undo with "hoist plan rollback --phase ${id}"`;
}
