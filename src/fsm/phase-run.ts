/**
 * One run (attempt) of one leaf: the attempt id its node requests carry, and the node executions
 * it started, appended to the changelog as they are accepted so that a later command knows
 * them. A run that continues an interrupted attempt first asks the nodes where each recorded
 * execution stands: a running one is followed to its end; then the executor runs again and the
 * nodes answer its requests with the executions they already have (protocol.ts), so only a step
 * that never started, or died with its agent, runs again.
 */
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import { StateError } from '../errors.js';
import type { ExecutorOwner, Phase } from '../plan/types.js';
import type { Engine } from './engine.js';
import type { ExecutionIds, PhaseContext } from './executor.js';
import { PhaseEvents } from './phase-events.js';

/** Node execution recorded by a phase. */
export interface RecordedExecution {
  node: string;
  id: string;
}

export class PhaseRun {
  readonly attempt: string;
  readonly executions: RecordedExecution[];
  /** What the run tells an events stream (--events). */
  readonly events: PhaseEvents;
  private writes: Promise<void> = Promise.resolve();

  constructor(
    private readonly engine: Engine,
    readonly phase: Phase,
    readonly action: 'execute' | 'rollback',
    /** Owner of the interrupted in-progress record this run continues, if any. */
    readonly continues?: ExecutorOwner,
  ) {
    this.attempt = continues?.attempt ?? randomUUID();
    this.executions = [...(continues?.executions ?? [])];
    this.events = new PhaseEvents(engine.opts.events, engine.opts.operation.id, phase, action);
  }

  /** The executor's status callback and the ticker's, both also sent as progress events. */
  reporters(): { report: (s: string) => void; status: () => string | undefined; tick: (line: string) => void } {
    let status: string | undefined;
    return {
      report: (s) => {
        status = s;
        this.events.status(s);
      },
      status: () => status,
      tick: (line) => this.events.progress(line),
    };
  }

  /** The in-progress record's owner: this process, the attempt, the executions so far. */
  owner(): ExecutorOwner {
    return { ...this.engine.opts.owner, attempt: this.attempt, executions: [...this.executions] };
  }

  /** Identity of the run's node requests. */
  ids(): ExecutionIds {
    const { owner, lease, operation } = this.engine.opts;
    return { operationId: operation.id, phaseId: this.phase.id, epoch: lease.epoch, holder: { host: owner.host, pid: owner.pid } };
  }

  /** What the executor's context carries for this run. */
  context(): Pick<PhaseContext, 'attempt' | 'epoch' | 'holder' | 'onExecution'> {
    const { epoch, holder } = this.ids();
    return { attempt: this.attempt, epoch: epoch ?? 0, ...(holder ? { holder } : {}), onExecution: (node, id) => this.accepted(node, id) };
  }

  /** Waits for the in-progress records of accepted executions. */
  settled(): Promise<void> {
    return this.writes;
  }

  private accepted(node: string, id: string): void {
    if (this.executions.some((e) => e.id === id && e.node === node)) return;
    this.executions.push({ node, id });
    const owner = this.owner();
    this.writes = this.writes
      .then(() => this.engine.record(this.phase.id, 'in_progress', this.action, undefined, owner))
      .catch((err: unknown) => {
        // The execution goes on; only a later re-attach after a crash loses its id.
        this.engine.opts.logger.error({ err, phase: this.phase.id, execution: id }, 'cannot record the execution id');
      });
  }

  /** Asks the nodes about the continued attempt's executions; follows those still running. */
  async reattach(log: Logger, signal: AbortSignal): Promise<void> {
    const nodes = this.engine.opts.executions;
    if (!nodes || !this.continues) return;
    const { progress } = this.engine.opts;
    for (const { node, id } of this.executions) {
      const standing = await nodes.inspect(node, id, this.ids());
      log.info({ event: 'phase.reattach', execution: id, node, standing }, `execution ${id} on ${node}: ${standing}`);
      if (standing === 'running') {
        progress.line(`Re-attaching to execution ${id} of "${this.phase.id}" on ${node}, still running`);
        await nodes.follow(node, id, { ...this.ids(), signal });
      } else if (standing === 'finished') {
        progress.line(`Execution ${id} of "${this.phase.id}" on ${node} finished meanwhile: its result is used, it does not run again`);
      } else {
        progress.line(`Execution ${id} of "${this.phase.id}" on ${node} did not finish (${standing}): it runs again`);
      }
    }
  }

  /** Refuses to roll back or re-run under another attempt while an execution of this phase still runs. */
  static async refuseIfRunning(engine: Engine, phase: Phase, owner: ExecutorOwner | undefined, what: string): Promise<void> {
    const nodes = engine.opts.executions;
    if (!nodes || !owner?.executions?.length) return;
    const ids: ExecutionIds = { operationId: engine.opts.operation.id, phaseId: phase.id, epoch: engine.opts.lease.epoch };
    for (const { node, id } of owner.executions) {
      if ((await nodes.inspect(node, id, ids)) !== 'running') continue;
      throw new StateError('ERR_PHASE_EXECUTION_RUNNING', `cannot ${what} "${phase.id}": its execution ${id} is still running on ${node}`, {
        phase: phase.id,
        node,
        hint: `stop it first with "hoist plan cancel --phase ${phase.id}", or let it finish with "hoist plan resume"`,
      });
    }
  }
}
