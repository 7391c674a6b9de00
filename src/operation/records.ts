/** The record of a new operation, as `upgrade` creates it and as a dry run describes it. */
import type { Plan } from '../plan/types.js';
import type { Lease, OperationRecord } from '../store/store.js';

/** What the creator of an operation supplies. */
export interface NewUpgrade {
  plan: Plan;
  image: string;
  /** Absolute path of the target image. */
  source?: string;
  /** The image's digest, pinned for later commands. */
  imageDigest?: string;
  mode: 'manual' | 'automatic';
  createdBy: OperationRecord['createdBy'];
  /** Bypass "previous upgrade unfinished" (Gravity's --force). */
  force?: boolean;
  /** Checks `force` overrode, recorded in the operation. */
  warnings?: string[];
  now?: Date;
  /** The cluster lease the writes are fenced with. */
  lease: Lease;
}

/** The record of a new, in-progress operation for `plan`. */
export function newOperationRecord(
  plan: Plan,
  req: Pick<NewUpgrade, 'image' | 'source' | 'imageDigest' | 'mode' | 'createdBy' | 'now' | 'warnings'>,
): OperationRecord {
  const now = (req.now ?? new Date()).toISOString();
  return {
    id: plan.operationId,
    type: 'upgrade',
    cluster: plan.cluster,
    state: 'in_progress',
    from: plan.from,
    to: plan.to,
    image: req.image,
    ...(req.source ? { source: req.source } : {}),
    ...(req.imageDigest ? { imageDigest: req.imageDigest } : {}),
    mode: req.mode,
    created: now,
    updated: now,
    createdBy: req.createdBy,
    ...(req.warnings?.length ? { warnings: req.warnings } : {}),
  };
}
