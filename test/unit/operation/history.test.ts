import { describe, expect, it } from 'vitest';
import { renderHistory } from '../../../src/cli/render/history.js';
import { completionEvent, healthTransitions } from '../../../src/operation/history.js';
import type { HistoryEvent, OperationRecord } from '../../../src/store/store.js';
import { MemoryStore } from '../../helpers/memory-store.js';

const by = { host: 'h', pid: 1, command: 'status' };
const at = '2026-11-29T02:00:00.000Z';

describe('operation › status history', () => {
  it('records a degraded probe once, and the node healthy once all its probes pass', async () => {
    const store = new MemoryStore();
    const degraded = { state: 'degraded' as const, failures: [{ node: 'node-2', probe: 'runtime-health' as const, message: 'down' }] };
    const healthy = { state: 'healthy' as const, failures: [] };
    const nodes = ['node-1', 'node-2'];
    const first = await healthTransitions(store, 'demo', degraded, nodes);
    expect(first).toEqual([{ type: 'node.degraded', node: 'node-2', probe: 'runtime-health', message: 'down' }]);
    for (const e of first) await store.appendHistory('demo', { ...e, at, by });
    expect(await healthTransitions(store, 'demo', degraded, nodes)).toEqual([]);
    const back = await healthTransitions(store, 'demo', healthy, nodes);
    expect(back).toEqual([{ type: 'node.healthy', node: 'node-2', message: 'passed runtime-health' }]);
    for (const e of back) await store.appendHistory('demo', { ...e, at, by });
    expect(await healthTransitions(store, 'demo', healthy, nodes)).toEqual([]);
  });

  it('names how an operation closed', () => {
    const op = { id: 'op-1', from: '1.0.0', to: '2.0.0' } as OperationRecord;
    const closed = (o: Partial<OperationRecord>) => completionEvent({ operation: { ...op, ...o }, cluster: {} as never, forced: false });
    expect(closed({ state: 'completed' }).type).toBe('operation.completed');
    expect(closed({ state: 'failed', reason: 'rolled back' })).toMatchObject({
      type: 'operation.rolled_back',
      message: '1.0.0 → 2.0.0: rolled back',
    });
    expect(closed({ state: 'failed', reason: 'completed manually' }).type).toBe('operation.failed');
  });

  it('prints one line per event in the seeds style, oldest first', () => {
    const events: HistoryEvent[] = [
      { type: 'node.degraded', at, node: 'node-2', probe: 'runtime-health', message: 'no answer', by },
      { type: 'operation.started', at: '2026-11-29T02:00:05.123Z', operation: 'op-1', by: { ...by, command: 'upgrade' } },
    ];
    expect(renderHistory(events)).toBe(
      '2026-11-29T02:00:00Z [Node Degraded] node=node-2 probe=runtime-health "no answer" by=status\n' +
        '2026-11-29T02:00:05Z [Operation Started] operation=op-1 by=upgrade\n',
    );
    expect(renderHistory([])).toContain('No events');
  });
});
