/**
 * Compact plan trees for tests: `group('/a', [leaf('/a/x'), leaf('/a/y', ['/a/x'])], {parallel: 2})`.
 * Leaves get executor `test` unless given one.
 */
import type { Phase, Plan } from '../../src/plan/types.js';

export function leaf(id: string, requires: string[] = [], extra: Partial<Phase> = {}): Phase {
  return { id, executor: 'test', description: `leaf ${id}`, requires, node: 'node-1', ...extra };
}

export function group(id: string, phases: Phase[], extra: Partial<Phase> & { requires?: string[] } = {}): Phase {
  return { id, description: `group ${id}`, requires: extra.requires ?? [], parallel: extra.parallel ?? 1, phases, ...extra };
}

export function plan(phases: Phase[], operationId = 'op-1'): Plan {
  return {
    operationId,
    operationType: 'upgrade',
    cluster: 'demo',
    createdAt: '2026-01-01T00:00:00.000Z',
    from: '1.0.0',
    to: '2.0.0',
    leader: 'node-1',
    servers: [{ name: 'node-1', address: '127.0.0.2', role: 'master' }],
    phases,
  };
}
