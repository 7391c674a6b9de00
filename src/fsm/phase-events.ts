/** The events of one leaf run: started, progress, then exactly one completed or failed. */
import type { Phase, PhaseError } from '../plan/types.js';
import { type EventSink, eventError } from './run-events.js';

export class PhaseEvents {
  private readonly started = Date.now();
  private finished = false;
  private lastStatus?: string;

  constructor(
    private readonly sink: EventSink | undefined,
    private readonly operation: string,
    private readonly phase: Phase,
    private readonly action: 'execute' | 'rollback',
  ) {}

  private get fields() {
    return { operation: this.operation, phase: this.phase.id, node: this.phase.node ?? null, action: this.action };
  }

  private elapsed(): number {
    return Math.max(0, Date.now() - this.started);
  }

  start(): void {
    this.sink?.emit({ type: 'phase.started', ...this.fields, description: this.phase.description });
  }

  /** A status reported by the executor: emitted when it changes. */
  status(message: string): void {
    if (message === this.lastStatus) return;
    this.lastStatus = message;
    this.progress(message);
  }

  /** A progress event (the ticker's, with the latest status). */
  progress(message: string): void {
    if (this.finished) return;
    this.sink?.emit({ type: 'phase.progress', ...this.fields, elapsedMs: this.elapsed(), message });
  }

  completed(): void {
    if (this.finished) return;
    this.finished = true;
    const state = this.action === 'execute' ? 'completed' : 'rolled_back';
    this.sink?.emit({ type: 'phase.completed', ...this.fields, state, durationMs: this.elapsed() });
  }

  /** The recorded error with the hint the command prints. */
  failed(error: PhaseError, hint?: string): void {
    if (this.finished) return;
    this.finished = true;
    const output = error.output?.length ? { output: error.output } : {};
    this.sink?.emit({
      type: 'phase.failed',
      ...this.fields,
      durationMs: this.elapsed(),
      error: { code: error.code, message: error.message, ...(hint ? { hint } : {}), ...output },
    });
  }

  /** Ends a run that stopped before its failure was recorded (a refused re-run, a lost lease). */
  stopped(err: unknown): void {
    if (!this.finished) this.failed(eventError(err), eventError(err).hint);
  }
}
