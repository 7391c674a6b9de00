/**
 * Writing the status history (`hoist status history`) from the workflows: operation events,
 * phase failures, overrides, lease takeovers and node health transitions. A history write never
 * fails the command: the history tells what happened, the records decide what happens.
 */
import type { ClusterHealth } from '../cluster/node-status.js';
import type { HistoryEvent, Store } from '../store/store.js';
import type { Completion } from './complete.js';
import type { OperationEnv } from './env.js';

/** An event as a workflow gives it; `at` and `by` are added here. */
export type NewHistoryEvent = Omit<HistoryEvent, 'at' | 'by'>;

/** What recording needs from the command. */
export type HistoryEnv = Pick<OperationEnv, 'store' | 'logger' | 'creator' | 'command'>;

/** Appends events to the cluster's history; a failure is logged, not thrown. */
export async function recordHistory(env: HistoryEnv, cluster: string, ...events: NewHistoryEvent[]): Promise<void> {
  const { host, pid } = env.creator();
  for (const e of events) {
    try {
      await env.store().appendHistory(cluster, { ...e, at: new Date().toISOString(), by: { host, pid, command: env.command } });
    } catch (err) {
      env.logger.warn({ event: 'history.write', err }, `could not record "${e.type}" in the status history: ${(err as Error).message}`);
    }
  }
}

/** The event of a closed operation: completed, rolled back, or failed (with its reason). */
export function completionEvent(c: Completion): NewHistoryEvent {
  const op = c.operation;
  const type =
    op.state === 'completed' ? 'operation.completed' : op.reason === 'rolled back' ? 'operation.rolled_back' : 'operation.failed';
  return { type, operation: op.id, message: `${op.from} → ${op.to}${op.reason ? `: ${op.reason}` : ''}` };
}

/** The event of a phase run that stopped at an error. */
export function failureEvent(operation: string, err: unknown): NewHistoryEvent {
  const e = err as Error & { code?: string; phase?: string };
  return {
    type: 'phase.failed',
    operation,
    ...(e.phase ? { phase: e.phase } : {}),
    message: `${e.code ? `${e.code}: ` : ''}${e.message}`,
  };
}

/**
 * Health transitions since the history's last word on each node and probe: a failing probe not
 * already recorded degraded, and a node whose recorded degradations all passed now.
 */
export async function healthTransitions(store: Store, cluster: string, health: ClusterHealth, nodes: string[]): Promise<NewHistoryEvent[]> {
  const known = new Map<string, Set<string>>();
  for (const e of await store.readHistory(cluster)) {
    if (!e.node) continue;
    if (e.type === 'node.degraded' && e.probe) {
      known.set(e.node, (known.get(e.node) ?? new Set()).add(e.probe));
    } else if (e.type === 'node.healthy') known.delete(e.node);
  }
  const events: NewHistoryEvent[] = [];
  for (const node of nodes) {
    const failing = health.failures.filter((f) => f.node === node);
    const was = known.get(node) ?? new Set<string>();
    for (const f of failing) {
      if (!was.has(f.probe)) events.push({ type: 'node.degraded', node, probe: f.probe, message: f.message });
    }
    if (failing.length === 0 && was.size > 0) events.push({ type: 'node.healthy', node, message: `passed ${[...was].join(', ')}` });
  }
  return events;
}
