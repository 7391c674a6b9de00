/**
 * `hoist plan --tail`: follow an operation's plan as it changes, one line per phase change,
 * `<time>\t[  i/  N] Phase <id> is <state>`, until the plan is completed, rolled back or failed.
 */
import { PhaseFailedError, StateError } from '../../errors.js';
import { progressStamp } from '../../fsm/progress.js';
import { operationStarted } from '../../operation/env.js';
import { leaves } from '../../plan/query.js';
import { latestChanges } from '../../plan/resolve.js';
import type { PlanChange } from '../../plan/types.js';
import type { OperationRecord } from '../../store/store.js';
import type { Context } from '../context.js';
import { TailEvents } from './tail-events.js';

const NAMES: Record<string, string> = {
  unstarted: 'unstarted',
  in_progress: 'in progress',
  completed: 'completed',
  failed: 'failed',
  rolled_back: 'rolled back',
};

/** Longest wait on an etcd watch before the writer's lease is checked again without an event. */
const WATCH_BOUND_MS = 30_000;

/** Follows `op` until it settles: an etcd store wakes it on each change, the JSON store is polled every `pollMs`. */
export async function tailPlan(ctx: Context, op: OperationRecord, pollMs = 2_000): Promise<void> {
  const store = ctx.store();
  const plan = await store.getPlan(op.cluster, op.id);
  const all = leaves(plan.phases);
  const ids = all.map((p) => p.id);
  const index = new Map(ids.map((id, i) => [id, i + 1]));
  const width = String(ids.length).length;
  const events = ctx.events && new TailEvents(op.id, new Map(all.map((p) => [p.id, p])));
  if (events) operationStarted(ctx, op, false);
  let printed = 0;
  for (;;) {
    const changes = await store.readChanges(op.cluster, op.id);
    for (const c of changes.filter((c) => c.seq > printed)) {
      for (const e of events?.of(c) ?? []) ctx.events?.emit(e);
      ctx.out(
        `${progressStamp(new Date(c.at))}\t[${String(index.get(c.phase) ?? 0).padStart(width)}/${ids.length}] Phase ${c.phase} is ${NAMES[c.state] ?? c.state}\n`,
      );
      printed = c.seq;
    }
    const latest = latestChanges(changes);
    const states = ids.map((id) => latest.get(id)?.state ?? 'unstarted');
    if (states.every((s) => s === 'completed')) return ctx.out('Operation plan is completed\n');
    if (states.every((s) => s === 'unstarted' || s === 'rolled_back') && states.includes('rolled_back'))
      return ctx.out('Operation plan is rolled back\n');
    const failed = ids.map((id) => latest.get(id)).find((c): c is PlanChange => c?.state === 'failed');
    if (failed) {
      throw new PhaseFailedError(
        failed.error?.code ?? 'ERR_PHASE_FAILED',
        `phase "${failed.phase}" failed: ${failed.error?.message ?? 'no error recorded'}`,
        {
          phase: failed.phase,
          hint: 'see "hoist plan"; continue with "hoist plan resume" once the cause is fixed',
        },
      );
    }
    if ((await store.getOperation(op.cluster, op.id)).state !== 'in_progress' || ctx.io.signal.aborted) return;
    // A writer that died holding the lease will never add a line: say so instead of waiting.
    const writer = await store.readLock(op.cluster);
    if (writer?.stale) {
      const w = writer.record;
      throw new StateError(
        'ERR_LOCK_EXPIRED',
        `the writer of operation ${op.id} is gone: the lease of "${w.command}" (pid ${w.pid} on host ${w.host}, epoch ${w.epoch}) expired at ${w.expires}, last heartbeat ${w.heartbeat}`,
        { hint: 'see "hoist plan"; continue the operation with "hoist plan resume"' },
      );
    }
    // etcd wakes the tail when something changes; the JSON store is polled.
    if (await store.watchForChange(op.cluster, op.id, printed, WATCH_BOUND_MS, ctx.io.signal)) continue;
    await new Promise<void>((resolve) => {
      const t = setTimeout(resolve, pollMs);
      ctx.io.signal.addEventListener(
        'abort',
        () => {
          clearTimeout(t);
          resolve();
        },
        { once: true },
      );
    });
  }
}
