/** `hoist status history`: one line per event, oldest first, in the seeds' style. */
import type { HistoryEvent, HistoryEventType } from '../../store/store.js';
import { printable } from '../../text.js';

const TITLES: Record<HistoryEventType, string> = {
  'operation.started': 'Operation Started',
  'operation.completed': 'Operation Completed',
  'operation.failed': 'Operation Failed',
  'operation.rolled_back': 'Operation Rolled Back',
  'phase.failed': 'Phase Failed',
  'node.degraded': 'Node Degraded',
  'node.healthy': 'Node Healthy',
  'lease.takeover': 'Lease Taken Over',
  override: 'Manual Override',
};

/** `2026-11-29T02:00:01Z [Node Degraded] node=node-2 probe=runtime-health "…"`. */
export function renderHistory(events: HistoryEvent[]): string {
  if (events.length === 0) return 'No events recorded for this cluster yet.\n';
  return `${events.map(historyLine).join('\n')}\n`;
}

function historyLine(e: HistoryEvent): string {
  const fields = [
    e.node ? `node=${e.node}` : '',
    e.probe ? `probe=${e.probe}` : '',
    e.phase ? `phase=${e.phase}` : '',
    e.operation ? `operation=${e.operation}` : '',
    e.message ? JSON.stringify(printable(e.message, 300)) : '',
    `by=${e.by.command}`,
  ].filter(Boolean);
  return `${e.at.replace(/\.\d+Z$/, 'Z')} [${TITLES[e.type]}] ${fields.join(' ')}`;
}
