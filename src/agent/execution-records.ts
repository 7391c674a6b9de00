/**
 * On-disk record of one agent execution, kept so that a result outlives the connection (and the
 * agent) that produced it:
 *
 *   <stateDir>/agent/executions/<executionId>/request.json    what was asked, by whom, which agent ran it
 *   <stateDir>/agent/executions/<executionId>/output.ndjson   output and log events, appended as they happen
 *   <stateDir>/agent/executions/<executionId>/result.json     how it ended (written atomically, last)
 *   <stateDir>/agent/steps/<digest>                            execution id of one phase step (see protocol.ts)
 *
 * No result.json means the execution is still running in this agent, or the agent that ran it died.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { isErrno, readRecord, recordJson, writeFileAtomic, writeNewFile } from '../durable-files.js';
import { LOG_LEVELS, OUTPUT_STREAMS, wireErrorSchema } from './protocol.js';

/** Identity of a running agent; `instance` tells two agents apart even when a pid is reused. */
const agentIdentitySchema = z.looseObject({
  pid: z.number().int().nonnegative(),
  instance: z.string().min(1),
  version: z.string(),
});
export type AgentIdentity = z.infer<typeof agentIdentitySchema>;

/** `request.json`. */
const executionRequestSchema = z.looseObject({
  execution: z.string().min(1),
  action: z.string().min(1),
  params: z.unknown(),
  operationId: z.string(),
  phaseId: z.string(),
  /** Phase attempt and step (protocol.ts); empty for requests outside a phase. */
  attempt: z.string().default(''),
  step: z.string().default(''),
  epoch: z.number().int().nonnegative().default(0),
  agent: agentIdentitySchema,
  startedAt: z.string(),
});
export type ExecutionRequest = z.infer<typeof executionRequestSchema>;

/** One line of `output.ndjson`; `seq` starts at 1 and has no gaps. */
const executionEventSchema = z.discriminatedUnion('type', [
  z.object({ seq: z.number().int().positive(), type: z.literal('output'), stream: z.enum(OUTPUT_STREAMS), data: z.string() }),
  z.object({ seq: z.number().int().positive(), type: z.literal('log'), level: z.enum(LOG_LEVELS), message: z.string() }),
]);
export type ExecutionEvent = z.infer<typeof executionEventSchema>;
/** An event before the execution numbers it. */
export type ExecutionEventBody = ExecutionEvent extends infer E ? (E extends unknown ? Omit<E, 'seq'> : never) : never;

/** `result.json`. */
const executionResultSchema = z.looseObject({
  ok: z.boolean(),
  data: z.unknown().optional(),
  error: wireErrorSchema.optional(),
  finishedAt: z.string(),
});
export type ExecutionResult = z.infer<typeof executionResultSchema>;

/** Paths of one execution's record. */
export class ExecutionPaths {
  readonly dir: string;
  constructor(
    root: string,
    readonly id: string,
  ) {
    this.dir = path.join(root, id);
  }
  get request(): string {
    return path.join(this.dir, 'request.json');
  }
  get output(): string {
    return path.join(this.dir, 'output.ndjson');
  }
  get result(): string {
    return path.join(this.dir, 'result.json');
  }
}

// Execution records must outlive the agent process and the SSH connection (re-attach reads them),
// not a crash of the node itself: the orchestrator's fsynced changelog is the record of truth.
// Skipping fsync keeps a no-op action at a fraction of a millisecond of disk work.
const RECORD = { durable: false };

/** Error codes of an execution that did not run to its own end: a resume runs its step again. */
export const CUT_OFF_CODES: ReadonlySet<string> = new Set(['ERR_AGENT_RESTARTED', 'ERR_AGENT_STOPPING', 'ERR_EXECUTION_CANCELLED']);

/** True when `result` says the execution was stopped from outside rather than finishing. */
export function wasCutOff(result: ExecutionResult): boolean {
  return !result.ok && CUT_OFF_CODES.has(result.error?.code ?? '');
}

/** Creates the record directory and its request.json; fails if the execution already exists. */
export async function writeRequest(paths: ExecutionPaths, request: ExecutionRequest): Promise<void> {
  await fs.mkdir(paths.dir, { recursive: false, mode: 0o700 });
  await writeNewFile(paths.request, recordJson(request), RECORD);
}

/** request.json, or undefined when no such execution was ever recorded. */
export function readRequest(paths: ExecutionPaths): Promise<ExecutionRequest | undefined> {
  return readRecord(paths.request, executionRequestSchema);
}

/** result.json, or undefined while there is none. */
export function readResult(paths: ExecutionPaths): Promise<ExecutionResult | undefined> {
  return readRecord(paths.result, executionResultSchema);
}

/** Writes result.json atomically. */
export function writeResult(paths: ExecutionPaths, result: ExecutionResult): Promise<void> {
  return writeFileAtomic(paths.result, recordJson(result), RECORD);
}

/**
 * The recorded events in order. A line that does not parse is skipped: only the last line can
 * be torn (the agent died mid-append), and losing part of the output must not hide the result.
 */
export async function readEvents(paths: ExecutionPaths): Promise<ExecutionEvent[]> {
  let text: string;
  try {
    text = await fs.readFile(paths.output, 'utf8');
  } catch (err) {
    if (isErrno(err, 'ENOENT')) return [];
    throw err;
  }
  const events: ExecutionEvent[] = [];
  for (const line of text.split('\n')) {
    if (!line) continue;
    try {
      const parsed = executionEventSchema.safeParse(JSON.parse(line));
      if (parsed.success) events.push(parsed.data);
    } catch {
      // Torn line; see above.
    }
  }
  return events;
}
