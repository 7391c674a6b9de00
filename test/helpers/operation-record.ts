/** An operation record for tests that need one but not its store. */
import type { OperationRecord } from '../../src/store/store.js';

/** An in-progress manual upgrade of cluster "demo" from 1.0.0 to 2.0.0; `overrides` replace fields. */
export function testOperation(overrides: Partial<OperationRecord> = {}): OperationRecord {
  return {
    id: 'op',
    type: 'upgrade',
    cluster: 'demo',
    state: 'in_progress',
    from: '1.0.0',
    to: '2.0.0',
    image: 'demo',
    mode: 'manual',
    created: '',
    updated: '',
    createdBy: { host: 'h', pid: 1, user: 'u' },
    ...overrides,
  };
}
