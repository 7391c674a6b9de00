/**
 * `plan --tail` with an events stream: the changelog another process writes, told as the events
 * that process would emit. A leaf gets one `phase.started` and one finish per run, even when the
 * log has no in-progress change before the finish (a failed pre-check records only `failed`).
 */
import type { NewRunEvent } from '../../fsm/run-events.js';
import type { Phase, PlanChange } from '../../plan/types.js';

/** Turns changes into events, remembering which leaves are running and since when. */
export class TailEvents {
  private readonly running = new Map<string, { at: string; action: 'execute' | 'rollback' }>();

  constructor(
    private readonly operation: string,
    private readonly leaves: Map<string, Phase>,
  ) {}

  /** The events of one change, in order. */
  of(c: PlanChange): NewRunEvent[] {
    const phase = this.leaves.get(c.phase);
    if (!phase) return [];
    const action = c.action ?? (c.state === 'rolled_back' ? 'rollback' : 'execute');
    const fields = { operation: this.operation, phase: c.phase, node: phase.node ?? null, action };
    const out: NewRunEvent[] = [];
    if (c.state === 'unstarted') return out;
    const run = this.running.get(c.phase);
    // An attempt records in_progress again as it starts node executions: one start per run.
    if (!run || run.action !== action) {
      out.push({ type: 'phase.started', at: c.at, ...fields, description: phase.description });
      this.running.set(c.phase, { at: c.at, action });
    }
    if (c.state === 'in_progress') return out;
    const since = this.running.get(c.phase)?.at ?? c.at;
    this.running.delete(c.phase);
    const durationMs = Math.max(0, Date.parse(c.at) - Date.parse(since));
    if (c.state === 'failed') {
      const error = c.error ?? { code: 'ERR_PHASE_FAILED', message: 'no error recorded' };
      out.push({
        type: 'phase.failed',
        at: c.at,
        ...fields,
        durationMs,
        error: { code: error.code, message: error.message, ...(error.output?.length ? { output: error.output } : {}) },
      });
    } else if (c.state === 'completed' || c.state === 'rolled_back') {
      out.push({ type: 'phase.completed', at: c.at, ...fields, state: c.state, durationMs });
    }
    return out;
  }
}
