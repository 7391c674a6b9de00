/**
 * Crash repair of the records. The operation records are the truth; the cluster record
 * (status, active operation, installed version) follows from them and is always written
 * second. A crash between the two writes of create or complete leaves a cluster record that
 * disagrees: readers use the record derived here, and the next command that takes the cluster
 * lock writes it (idempotent: deriving again changes nothing).
 */
import type { ClusterRecord, Lease, OperationRecord, Store } from '../store/store.js';

/** The cluster record the operations call for, and what was wrong with the stored one. */
export interface DerivedCluster {
  record: ClusterRecord | undefined;
  /** One sentence per disagreement; empty when the stored record is right. */
  repairs: string[];
  /** A finished operation the stored record still named active: its close was cut short. */
  closed?: string;
}

/** Derives the cluster record from the stored one and the operations (newest first). */
export function deriveCluster(name: string, stored: ClusterRecord | undefined, ops: OperationRecord[], now = new Date()): DerivedCluster {
  const updated = now.toISOString();
  const active = ops.find((op) => op.state === 'in_progress');
  if (active) {
    if (stored?.status === 'updating' && stored.activeOperation === active.id) return { record: stored, repairs: [] };
    const was = stored ? `says ${stored.status}${stored.activeOperation ? ` (operation ${stored.activeOperation})` : ''}` : 'is missing';
    return {
      record: {
        name,
        status: 'updating',
        image: stored?.image ?? { name: active.image, version: active.from },
        activeOperation: active.id,
        lastOperation: active.id,
        updated,
      },
      repairs: [`operation ${active.id} is in progress but the cluster record ${was}: the cluster is marked updating`],
    };
  }
  if (stored?.status !== 'updating') return { record: stored, repairs: [] };
  const last = ops.find((op) => op.id === stored.activeOperation);
  const image = last?.state === 'completed' ? { name: last.image, version: last.to } : stored.image;
  const { activeOperation: _finished, ...rest } = stored;
  const lastOperation = last?.id ?? stored.lastOperation;
  return {
    ...(last ? { closed: last.id } : {}),
    record: { ...rest, status: 'active', image, ...(lastOperation ? { lastOperation } : {}), updated },
    repairs: [
      `the cluster record says updating (operation ${stored.activeOperation ?? 'unknown'}) but that operation is ${last ? last.state : 'missing'}: the cluster is marked active at ${image.version}`,
    ],
  };
}

/** Reads the records and derives the cluster record, without writing. */
export async function readCluster(store: Store, name: string): Promise<DerivedCluster> {
  const [stored, ops] = await Promise.all([store.getCluster(name), store.listOperations(name)]);
  return deriveCluster(name, stored, ops);
}

/** Under the cluster lease: writes the derived cluster record (compare-and-set) if the stored one disagrees. */
export async function repairCluster(store: Store, name: string, lease: Lease): Promise<DerivedCluster> {
  const [stored, ops] = await Promise.all([store.getCluster(name), store.listOperations(name)]);
  const derived = deriveCluster(name, stored, ops);
  if (derived.repairs.length > 0 && derived.record) await store.putCluster(derived.record, { lease, expect: stored ?? null });
  return derived;
}
