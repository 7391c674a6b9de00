/**
 * The events of a run for CI (`--events FILE|-`, `-o ndjson`): one JSON object per line. This
 * schema is the contract: docs/events.schema.json is generated from it (a unit test keeps the
 * two equal), so a consumer can validate a stream without hoist's sources. Only leaves emit
 * phase events: a leaf that starts always gets exactly one `phase.completed` or `phase.failed`.
 */
import { z } from 'zod';

const at = z.string().describe('when it happened, ISO 8601 UTC');
const operation = z.string().describe('operation id');
const phaseFields = {
  at,
  operation,
  phase: z.string().describe('leaf phase id, e.g. /masters/node-1/drain'),
  node: z.string().nullable().describe('node the phase runs on, null for phases run locally'),
  action: z.enum(['execute', 'rollback']).describe('whether the phase is executed or rolled back'),
};
const errorSchema = z
  .object({
    code: z.string().describe('stable error code, e.g. ERR_HOOK_FAILED'),
    message: z.string(),
    hint: z.string().optional().describe('what to do next'),
    output: z.array(z.string()).optional().describe('last lines of the failed work (hook or Job log, kubectl stderr)'),
  })
  .strict();

/** Every event hoist writes to an events stream. */
export const RunEventSchema = z
  .discriminatedUnion('type', [
    z
      .object({
        type: z.literal('operation.started'),
        at,
        operation,
        cluster: z.string(),
        from: z.string().describe('installed version when the operation was created'),
        to: z.string().describe('target version'),
        mode: z.enum(['manual', 'automatic']),
        command: z.string().describe('the hoist command line that drives this run'),
        created: z.boolean().describe('true when this run created the operation (hoist upgrade)'),
      })
      .strict()
      .describe('first event of a run: the operation it drives'),
    z
      .object({ type: z.literal('phase.started'), ...phaseFields, description: z.string() })
      .strict()
      .describe('a leaf phase starts (its pre-check included)'),
    z
      .object({
        type: z.literal('phase.progress'),
        ...phaseFields,
        elapsedMs: z.number().int().nonnegative(),
        message: z.string().describe('the latest status of the work, e.g. pods still being evicted'),
      })
      .strict()
      .describe('a running leaf reports progress (every 10 s, and when its status changes)'),
    z
      .object({
        type: z.literal('phase.completed'),
        ...phaseFields,
        state: z.enum(['completed', 'rolled_back']),
        durationMs: z.number().int().nonnegative(),
      })
      .strict()
      .describe('a leaf phase finished: executed (completed) or rolled back'),
    z
      .object({
        type: z.literal('phase.failed'),
        ...phaseFields,
        durationMs: z.number().int().nonnegative(),
        error: errorSchema,
      })
      .strict()
      .describe('a leaf phase failed or was interrupted (code ERR_INTERRUPTED)'),
    z
      .object({
        type: z.literal('operation.finished'),
        at,
        operation: operation.optional().describe('absent when the command was refused before any operation was known'),
        command: z.string(),
        outcome: z.enum(['ok', 'failed', 'interrupted']).describe("how this run ended; hoist's exit code says the same"),
        exitCode: z.number().int(),
        operationState: z
          .enum(['in_progress', 'completed', 'failed'])
          .optional()
          .describe('the operation after this run: in_progress means it stays active (manual mode, a failure to resume)'),
        error: errorSchema.optional(),
      })
      .strict()
      .describe('last event of a run'),
  ])
  .meta({
    title: 'hoist run event',
    description: 'One line of `hoist upgrade|plan execute|plan resume|plan rollback|plan --tail --events FILE` (or -o ndjson).',
  });

/** One event of a run. */
export type RunEvent = z.infer<typeof RunEventSchema>;

/** An event as emitted; the sink stamps `at` unless given. */
export type NewRunEvent = RunEvent extends infer E ? (E extends RunEvent ? Omit<E, 'at'> & { at?: string } : never) : never;

/** Receives the events of a run. */
export interface EventSink {
  emit(event: NewRunEvent): void;
}

/** The error fields of an event from a thrown error. */
export function eventError(err: unknown): z.infer<typeof errorSchema> {
  const e = err as { code?: unknown; message?: unknown; hint?: unknown; details?: unknown };
  const code = typeof e?.code === 'string' && e.code.startsWith('ERR_') ? e.code : 'ERR_UNEXPECTED';
  const output = Array.isArray(e?.details) && e.details.length ? (e.details as unknown[]).map(String) : undefined;
  return {
    code,
    message: typeof e?.message === 'string' ? e.message : String(err),
    ...(typeof e?.hint === 'string' && e.hint ? { hint: e.hint } : {}),
    ...(output ? { output } : {}),
  };
}
