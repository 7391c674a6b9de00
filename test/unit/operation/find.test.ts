import { describe, expect, it } from 'vitest';
import { groupTimings } from '../../../src/cli/commands/operation.js';
import { resolveOperationId } from '../../../src/operation/find.js';
import { caught } from '../../helpers/caught.js';
import { MemoryStore } from '../../helpers/memory-store.js';
import { leaf, plan } from '../../helpers/plan-dsl.js';
import { operation, plan as storedPlan } from '../store/fixtures.js';

describe('operation › finding and timing operations', () => {
  it('completes a unique id prefix and refuses an ambiguous one, listing the candidates', async () => {
    const store = new MemoryStore();
    const lease = await store.testLease('demo');
    for (const id of ['abc-1', 'abd-2']) await store.createOperation(operation(id), storedPlan(id), lease);
    expect(await resolveOperationId(store, 'demo', 'abc')).toBe('abc-1');
    expect(await resolveOperationId(store, 'demo', 'abd-2')).toBe('abd-2');
    expect(await resolveOperationId(store, 'demo', 'zzz')).toBe('zzz');
    const err = await caught(resolveOperationId(store, 'demo', 'ab'));
    expect(err).toMatchObject({ code: 'ERR_OPERATION_AMBIGUOUS', exitCode: 2 });
    expect((err as Error).message).toBe('operation id "ab" matches 2 operations: abd-2, abc-1');
  });

  it('times each top-level phase from its first to its last change', () => {
    const p = plan([leaf('/a'), leaf('/b'), leaf('/c')]);
    const at = (s: number) => new Date(Date.UTC(2026, 10, 29, 3, 0, s)).toISOString();
    const changes = [
      { seq: 1, phase: '/a', state: 'in_progress' as const, at: at(0) },
      { seq: 2, phase: '/a', state: 'completed' as const, at: at(31) },
      { seq: 3, phase: '/b', state: 'in_progress' as const, at: at(40) },
    ];
    expect(groupTimings(p.phases, changes)).toEqual([
      { id: '/a', started: at(0), ended: at(31), seconds: 31 },
      { id: '/b', started: at(40), ended: at(40), seconds: 0 },
      { id: '/c' },
    ]);
  });
});
