/**
 * The executor keys a plan may name and the data each executor reads, as one table shared by the
 * builder (which emits it), the store (which refuses a stored plan that drifted from it) and the
 * executors (which read it typed). Adding a phase kind adds one line here.
 *
 * Objects are strict: a key an executor does not know means the plan was built by another shape
 * of the builder, and an optional key silently ignored would change what the phase does.
 */
import { z } from 'zod';
import { walk } from './query.js';
import type { Phase } from './types.js';

const none = z.strictObject({});
const locator = z.string().min(1);
const nodeName = z.string().min(1);
const leader = z.strictObject({ leader: z.boolean() });
/** `stepdown` disables, `elect` enables one node and may disable others; both run one executor. */
const election = z.strictObject({ enable: nodeName.optional(), disable: z.array(nodeName).optional() });

/** What /checks verifies on every node; the executor's defaults apply where a field is absent. */
export const requirementsSchema = z.strictObject({
  minDiskWriteMBps: z.number().nonnegative().optional(),
  maxTimeDriftMs: z.number().nonnegative().optional(),
  minFreeStateDirBytes: z.number().nonnegative().optional(),
});

/** `pre-actions` / `post-actions`: the image's per-node actions of one stage, in order. */
const nodeActions = z.strictObject({
  stage: z.enum(['preUpgrade', 'postUpgrade']),
  actions: z.array(
    z.strictObject({
      name: z.string().min(1),
      run: z.union([z.string().min(1), z.array(z.string()).min(1)]).optional(),
      package: locator.optional(),
      hook: z.string().min(1).optional(),
      timeoutSeconds: z.number().positive().optional(),
    }),
  ),
});

/** `os-upgrade`: the OS release the node runs, the OS package to go to and how its boot is assessed. */
const osUpgrade = z.strictObject({
  from: z.string().min(1),
  to: locator,
  rebootTimeoutSeconds: z.number().positive().optional(),
  assessment: z.strictObject({
    timeoutSeconds: z.number().positive(),
    checks: z.array(z.strictObject({ name: z.string().min(1), run: z.union([z.string().min(1), z.array(z.string()).min(1)]) })),
  }),
});

/** Executor key → schema of its phase's `data` (absent data is read as `{}`). */
export const PHASE_DATA = {
  init: leader,
  checks: z.strictObject({ requirements: requirementsSchema.optional() }),
  'pre-update': none,
  bootstrap: z.strictObject({ leader: z.boolean(), runtime: locator }),
  coredns: none,
  'kubelet-permissions': none,
  stepdown: election,
  drain: none,
  'system-upgrade': z.strictObject({ from: locator, to: locator }),
  elect: election,
  health: none,
  taint: none,
  uncordon: none,
  endpoints: z.strictObject({ role: z.enum(['master', 'worker']) }),
  untaint: none,
  'etcd-backup': z.strictObject({ version: z.string().min(1) }),
  'etcd-shutdown': leader,
  'etcd-upgrade': z.strictObject({ from: z.string().min(1), to: z.string().min(1) }),
  'etcd-restore': z.strictObject({ version: z.string().min(1) }),
  'etcd-restart': leader,
  config: none,
  'migrate-labels': none,
  'update-app': z.strictObject({ app: z.string().min(1), version: z.string().min(1), from: z.string().min(1).optional() }),
  gc: none,
  'os-upgrade': osUpgrade,
  'boot-assessment': z.strictObject({ release: z.string().min(1), timeoutSeconds: z.number().positive() }),
  'pre-actions': nodeActions,
  'post-actions': nodeActions,
} as const;

/** A key the builder may put in `Phase.executor`. */
export type ExecutorKey = keyof typeof PHASE_DATA;

/** The data of a phase run by executor `K`. */
export type PhaseData<K extends ExecutorKey> = z.infer<(typeof PHASE_DATA)[K]>;

// The table seen as a mapped type, so that a generic key K finds a schema of PhaseData<K>.
const SCHEMAS: { [K in ExecutorKey]: z.ZodType<PhaseData<K>> } = PHASE_DATA;

/** Every executor key, in table order. */
export const EXECUTOR_KEYS = Object.keys(PHASE_DATA) as ExecutorKey[];

export function isExecutorKey(key: string): key is ExecutorKey {
  return Object.hasOwn(PHASE_DATA, key);
}

/** One way a phase's data does not fit its executor. */
export interface PhaseDataProblem {
  phase: string;
  executor: string;
  /** `field: what is wrong`, one per issue. */
  issues: string[];
}

/** The data of `phase` as executor `key` reads it, or the problems that stop it. */
export function parsePhaseData<K extends ExecutorKey>(
  key: K,
  phase: Pick<Phase, 'id' | 'data'>,
): { ok: true; data: PhaseData<K> } | { ok: false; problem: PhaseDataProblem } {
  const res = SCHEMAS[key].safeParse(phase.data ?? {});
  if (res.success) return { ok: true, data: res.data };
  const issues = res.error.issues.map((i) => `${['data', ...i.path].join('.')}: ${i.message}`);
  return { ok: false, problem: { phase: phase.id, executor: key, issues } };
}

/**
 * Every leaf of `phases` whose data does not fit its executor's schema. Keys not in the table
 * are left to the engine, which refuses to run them (ERR_EXECUTOR_UNAVAILABLE).
 */
export function phaseDataProblems(phases: readonly Phase[]): PhaseDataProblem[] {
  const out: PhaseDataProblem[] = [];
  walk(phases, (p) => {
    if (p.executor === undefined || !isExecutorKey(p.executor)) return;
    const res = parsePhaseData(p.executor, p);
    if (!res.ok) out.push(res.problem);
  });
  return out;
}
