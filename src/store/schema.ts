/**
 * zod schemas for the files of the JSON store. Records are checked on every read so that a
 * hand-edited or damaged file fails with a message naming it instead of surfacing later as an
 * odd crash. Unknown keys are kept (loose objects) so that a newer hoist can add fields without
 * an older one refusing the file.
 */
import { z } from 'zod';
import { PHASE_STATES, type Phase, type Plan, type PlanChange } from '../plan/types.js';
import type { ClusterRecord, LeaseRecord, OperationRecord } from './store.js';

/** Names that become path components: no separators, no leading dot (dot-names are ours). */
export const SAFE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,252}$/;

/**
 * An id the store turns into a directory name. A stored `../x` would lead a reader out of the
 * state directory, so it fails the record's schema (ERR_STORE_CORRUPT naming the file).
 */
const storeName = z.string().regex(SAFE_NAME, 'not a usable name (letters, digits, ".", "_", "-"; no path separators)');

/** ISO-8601 timestamp as written by `new Date().toISOString()` (offsets accepted). */
const timestamp = z.iso.datetime({ offset: true });

/** Last error of a phase. */
export const phaseErrorSchema = z.looseObject({ code: z.string(), message: z.string(), output: z.array(z.string()).optional() });

/** Who runs an in-progress phase. */
export const executorOwnerSchema = z.looseObject({
  host: z.string().min(1),
  pid: z.number().int().nonnegative(),
  execution: z.string().optional(),
  epoch: z.number().int().nonnegative().optional(),
  attempt: z.string().optional(),
  executions: z.array(z.looseObject({ node: z.string(), id: z.string() })).optional(),
});

/** One changelog line. */
export const planChangeSchema = z.looseObject({
  seq: z.number().int().positive(),
  phase: z.string().min(1),
  state: z.enum(PHASE_STATES),
  at: timestamp,
  error: phaseErrorSchema.optional(),
  owner: executorOwnerSchema.optional(),
  override: z.looseObject({ reason: z.string().min(1), by: z.string() }).optional(),
});

/** `cluster.json`. */
export const clusterRecordSchema = z.looseObject({
  name: storeName,
  status: z.enum(['active', 'updating']),
  image: z.looseObject({ name: z.string(), version: z.string() }),
  activeOperation: storeName.optional(),
  lastOperation: storeName.optional(),
  updated: timestamp,
});

/** `operation.json`. */
export const operationRecordSchema = z.looseObject({
  id: storeName,
  type: z.literal('upgrade'),
  cluster: storeName,
  state: z.enum(['in_progress', 'completed', 'failed']),
  from: z.string(),
  to: z.string(),
  image: z.string(),
  imageDigest: z
    .string()
    .regex(/^sha256:[0-9a-f]{64}$/)
    .optional(),
  mode: z.enum(['manual', 'automatic']),
  created: timestamp,
  updated: timestamp,
  createdBy: z.looseObject({ host: z.string(), pid: z.number().int(), user: z.string() }),
  reason: z.string().optional(),
  warnings: z.array(z.string()).optional(),
});

const leaseOwnerShape = {
  host: z.string().min(1),
  pid: z.number().int().positive(),
  command: z.string(),
};

/**
 * The `lock` file (the cluster lease). A file written before leases had epochs reads as epoch 0
 * and already expired, so the first acquisition takes it over with epoch 1.
 */
export const lockRecordSchema = z.looseObject({
  ...leaseOwnerShape,
  epoch: z.number().int().nonnegative().default(0),
  acquired: timestamp,
  heartbeat: timestamp,
  expires: timestamp.default('1970-01-01T00:00:00.000Z'),
  released: timestamp.optional(),
  lastTakeover: z
    .looseObject({
      ...leaseOwnerShape,
      epoch: z.number().int().nonnegative(),
      heartbeat: timestamp,
      at: timestamp,
      by: z.looseObject({ ...leaseOwnerShape, epoch: z.number().int().nonnegative() }),
    })
    .optional(),
});

/**
 * A phase as stored. Only what the store and the engine rely on is checked; the plan module
 * owns the finer rules (id shapes, requires forming a DAG).
 */
export const phaseSchema: z.ZodType<Phase> = z.looseObject({
  id: z.string().min(1),
  executor: z.string().optional(),
  description: z.string(),
  node: z.string().optional(),
  server: z.string().optional(),
  requires: z.array(z.string()),
  parallel: z.number().int().positive().optional(),
  data: z.record(z.string(), z.unknown()).optional(),
  get phases() {
    return z.array(phaseSchema).optional();
  },
});

/** `plan.json`. */
export const planSchema = z.looseObject({
  operationId: storeName,
  operationType: z.literal('upgrade'),
  cluster: storeName,
  createdAt: z.string(),
  from: z.string(),
  to: z.string(),
  leader: z.string(),
  servers: z.array(z.looseObject({ name: z.string(), address: z.string(), role: z.enum(['master', 'worker']) })),
  phases: z.array(phaseSchema),
});

// Compile-time check that what the schemas accept is assignable to the hand-written types.
const _typeChecks = {
  cluster: (v: z.infer<typeof clusterRecordSchema>): ClusterRecord => v,
  operation: (v: z.infer<typeof operationRecordSchema>): OperationRecord => v,
  lock: (v: z.infer<typeof lockRecordSchema>): LeaseRecord => v,
  change: (v: z.infer<typeof planChangeSchema>): PlanChange => v,
  plan: (v: z.infer<typeof planSchema>): Plan => v,
};
void _typeChecks;

/** One line of `history.ndjson`. */
export const historyEventSchema = z.looseObject({
  type: z.enum([
    'operation.started',
    'operation.completed',
    'operation.failed',
    'operation.rolled_back',
    'phase.failed',
    'node.degraded',
    'node.healthy',
    'lease.takeover',
    'override',
  ]),
  at: timestamp,
  operation: z.string().optional(),
  node: z.string().optional(),
  probe: z.string().optional(),
  phase: z.string().optional(),
  message: z.string().optional(),
  by: z.looseObject({ host: z.string(), pid: z.number().int(), command: z.string() }),
});
