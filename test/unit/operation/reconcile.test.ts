import { describe, expect, it } from 'vitest';
import { deriveCluster } from '../../../src/operation/reconcile.js';
import type { ClusterRecord, OperationRecord } from '../../../src/store/store.js';

const at = '2026-11-28T10:00:00.000Z';
const now = new Date('2026-11-28T11:00:00.000Z');
const op = (state: OperationRecord['state'], id = 'op-1'): OperationRecord => ({
  id,
  type: 'upgrade',
  cluster: 'demo',
  state,
  from: '1.0.0',
  to: '2.0.0',
  image: 'upgrade-demo',
  mode: 'manual',
  created: at,
  updated: at,
  createdBy: { host: 'h', pid: 1, user: 'root' },
});
const cluster = (over: Partial<ClusterRecord> = {}): ClusterRecord => ({
  name: 'demo',
  status: 'active',
  image: { name: 'upgrade-demo', version: '1.0.0' },
  updated: at,
  ...over,
});

describe('operation › reconcile', () => {
  it('leaves agreeing records alone', () => {
    const updating = cluster({ status: 'updating', activeOperation: 'op-1', lastOperation: 'op-1' });
    expect(deriveCluster('demo', updating, [op('in_progress')], now)).toEqual({ record: updating, repairs: [] });
    const done = cluster({ lastOperation: 'op-1', image: { name: 'upgrade-demo', version: '2.0.0' } });
    expect(deriveCluster('demo', done, [op('completed')], now)).toEqual({ record: done, repairs: [] });
    expect(deriveCluster('demo', undefined, [], now)).toEqual({ record: undefined, repairs: [] });
  });

  it('crash after the operation was created: the cluster becomes updating, also when it had no record yet', () => {
    const fromActive = deriveCluster('demo', cluster(), [op('in_progress')], now);
    expect(fromActive.record).toMatchObject({ status: 'updating', activeOperation: 'op-1', image: { version: '1.0.0' } });
    expect(fromActive.repairs).toEqual([
      'operation op-1 is in progress but the cluster record says active: the cluster is marked updating',
    ]);
    const fresh = deriveCluster('demo', undefined, [op('in_progress')], now);
    expect(fresh.record).toMatchObject({ name: 'demo', status: 'updating', activeOperation: 'op-1', image: { version: '1.0.0' } });
    expect(fresh.repairs[0]).toContain('the cluster record is missing');
  });

  it('crash after the operation was completed: the cluster becomes active at the new version', () => {
    const stuck = cluster({ status: 'updating', activeOperation: 'op-1', lastOperation: 'op-1' });
    const { record, repairs } = deriveCluster('demo', stuck, [op('completed')], now);
    expect(record).toEqual({
      name: 'demo',
      status: 'active',
      image: { name: 'upgrade-demo', version: '2.0.0' },
      lastOperation: 'op-1',
      updated: now.toISOString(),
    });
    expect(repairs).toEqual([
      'the cluster record says updating (operation op-1) but that operation is completed: the cluster is marked active at 2.0.0',
    ]);
    // Idempotent: the repaired record needs no further repair.
    expect(deriveCluster('demo', record, [op('completed')], now).repairs).toEqual([]);
  });

  it('crash after the operation was closed as failed: the cluster becomes active at the old version', () => {
    const stuck = cluster({ status: 'updating', activeOperation: 'op-1', lastOperation: 'op-1' });
    expect(deriveCluster('demo', stuck, [op('failed')], now).record).toMatchObject({ status: 'active', image: { version: '1.0.0' } });
  });
});
