/**
 * The agent wire protocol: one JSON object per line over a byte stream (the agent's Unix socket,
 * reached through SSH streamlocal forwarding). Both ends validate every message with these
 * schemas. Every message carries the protocol version `v`; a peer speaking another version is
 * refused with ERR_AGENT_PROTOCOL instead of being half understood.
 *
 * Requests (orchestrator → agent) carry a client-chosen `id`, unique among the requests in flight
 * on one connection, plus the operation and phase they belong to (empty strings outside an
 * operation). Every response names the request `id` it answers, so many calls share a connection.
 *
 *   hello    → hello {version, hostname, pid, running, lease}
 *   run      → accepted {execution}, then output* / log*, then result {ok, data | error}
 *   attach   → accepted {execution}, recorded output and log replayed, then the rest live, then result
 *   inspect  → execution {state: running | finished | died, result}
 *   cancel   → cancelled {executions} once every cancelled execution has ended
 *   release  → released: the node lease of the operation is dropped
 *   shutdown → bye, then the agent stops
 *
 * One execution per phase step: a `run` inside an operation names its `attempt` (one run of one
 * phase, as recorded in the changelog) and its `step` (which request of that attempt it is). A
 * request for a step the agent has already started follows that execution instead of starting
 * another: still running, it is attached; finished, its recorded result is replayed; cut off by a
 * dead agent or cancelled, it runs again. So an orchestrator that resumes a phase after a crash
 * re-issues the phase's requests and every node-side effect happens exactly once.
 *   anything the agent cannot accept → error {code, message} (the connection stays up)
 */
import { z } from 'zod';

/** Version of this protocol; bumped on any incompatible change. */
export const PROTOCOL_VERSION = 1;

/** Longest line either end accepts, in bytes (newline excluded). */
export const MAX_LINE_BYTES = 1024 * 1024;

/** Execution ids name directories on the node, so they are restricted to a safe alphabet. */
const executionIdSchema = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_-]{0,127}$/, 'not a valid execution id');

const version = z.literal(PROTOCOL_VERSION);
const requestBase = {
  v: version,
  id: z.string().min(1).max(128),
  operationId: z.string().max(256),
  phaseId: z.string().max(1024),
  /** Fencing token of the orchestrator's cluster lease; a node refuses an epoch older than it has seen. */
  epoch: z.number().int().nonnegative().default(0),
  /** The orchestrator process that sends the request (named when the node refuses another one). */
  holder: z.object({ host: z.string().max(256), pid: z.number().int().nonnegative() }).optional(),
};

/** `hello`: who is there. */
const helloRequestSchema = z.object({ ...requestBase, type: z.literal('hello') });
/** `run`: start one action of the closed set. */
const runRequestSchema = z.object({
  ...requestBase,
  type: z.literal('run'),
  action: z.string().min(1).max(128),
  params: z.record(z.string(), z.unknown()).default({}),
  /** One run of the phase (the in-progress record of the changelog); empty: no deduplication. */
  attempt: z.string().max(128).default(''),
  /** Which request of the attempt this is (action, params digest, occurrence). */
  step: z.string().max(256).default(''),
});
/** `attach`: follow an execution started earlier, possibly on another connection. */
const attachRequestSchema = z.object({ ...requestBase, type: z.literal('attach'), execution: executionIdSchema });
/** `inspect`: where an execution stands, without following it. */
const inspectRequestSchema = z.object({ ...requestBase, type: z.literal('inspect'), execution: executionIdSchema });
/** `cancel`: stops one execution, or every live execution of the request's operation and phase. */
const cancelRequestSchema = z.object({ ...requestBase, type: z.literal('cancel'), execution: executionIdSchema.optional() });
/** `release`: the operation is over; the node no longer belongs to it. */
const releaseRequestSchema = z.object({ ...requestBase, type: z.literal('release') });
/** `shutdown`: the agent stops after answering; refused while executions run unless `force`. */
const shutdownRequestSchema = z.object({ ...requestBase, type: z.literal('shutdown'), force: z.boolean().default(false) });

/** Any request. */
export const requestSchema = z.discriminatedUnion('type', [
  helloRequestSchema,
  runRequestSchema,
  attachRequestSchema,
  inspectRequestSchema,
  cancelRequestSchema,
  releaseRequestSchema,
  shutdownRequestSchema,
]);
export type Request = z.infer<typeof requestSchema>;
/** A request as the client builds it (before defaults). */
export type RequestInput = z.input<typeof requestSchema>;

/** Error carried by a failed result or an `error` response. */
export const wireErrorSchema = z.object({
  code: z.string().min(1),
  message: z.string(),
  hint: z.string().optional(),
  details: z.array(z.string()).optional(),
});
export type WireError = z.infer<typeof wireErrorSchema>;

const responseBase = { v: version, id: z.string() };

/** Output stream names of an execution. */
export const OUTPUT_STREAMS = ['stdout', 'stderr'] as const;
export type OutputStream = (typeof OUTPUT_STREAMS)[number];
/** Levels of an execution's log lines. */
export const LOG_LEVELS = ['debug', 'info', 'warn', 'error'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/**
 * The node lease: the operation a node serves, as k0sctl locks its hosts. Requests of another
 * operation are refused until it is released or expires; an older epoch is refused always.
 */
export const nodeLeaseSchema = z.looseObject({
  operationId: z.string().min(1),
  epoch: z.number().int().nonnegative(),
  holder: z.object({ host: z.string(), pid: z.number().int().nonnegative() }).optional(),
  acquired: z.string(),
  heartbeat: z.string(),
  expires: z.string(),
});
export type NodeLease = z.infer<typeof nodeLeaseSchema>;

/** Answer to `hello`. */
const helloResponseSchema = z.object({
  ...responseBase,
  type: z.literal('hello'),
  version: z.string(),
  /** sha256 of the bundle the agent was started from, when its deployer said (`--build`). */
  build: z.string().optional(),
  hostname: z.string(),
  pid: z.number().int().nonnegative(),
  /** Executions running now, as `phaseId` (or action) by execution id. */
  running: z.record(z.string(), z.string()).default({}),
  lease: nodeLeaseSchema.optional(),
});
/** The execution a `run` started or an `attach` follows. */
const acceptedResponseSchema = z.object({ ...responseBase, type: z.literal('accepted'), execution: executionIdSchema });
/** A chunk of an execution's output. */
const outputResponseSchema = z.object({
  ...responseBase,
  type: z.literal('output'),
  execution: executionIdSchema,
  stream: z.enum(OUTPUT_STREAMS),
  data: z.string(),
});
/** A log line of an execution. */
const logResponseSchema = z.object({
  ...responseBase,
  type: z.literal('log'),
  execution: executionIdSchema,
  level: z.enum(LOG_LEVELS),
  message: z.string(),
});
/** How an execution ended; the last message of a `run` or `attach`. */
const resultResponseSchema = z.object({
  ...responseBase,
  type: z.literal('result'),
  execution: executionIdSchema,
  ok: z.boolean(),
  data: z.unknown().optional(),
  error: wireErrorSchema.optional(),
});
/** The request was refused; `id` is empty when the line could not be read at all. */
const errorResponseSchema = z.object({ ...responseBase, type: z.literal('error'), error: wireErrorSchema });
/** Answer to `inspect`. */
const executionResponseSchema = z.object({
  ...responseBase,
  type: z.literal('execution'),
  execution: executionIdSchema,
  /** `died`: no result and no agent running it (cut off, or cancelled): a resume runs it again. */
  state: z.enum(['running', 'finished', 'died']),
  action: z.string(),
  phaseId: z.string(),
  attempt: z.string(),
  ok: z.boolean().optional(),
  error: wireErrorSchema.optional(),
});
/** Answer to `cancel`, once the cancelled executions have ended and their results are recorded. */
const cancelledResponseSchema = z.object({ ...responseBase, type: z.literal('cancelled'), executions: z.array(executionIdSchema) });
/** Answer to `release`. */
const releasedResponseSchema = z.object({ ...responseBase, type: z.literal('released') });
/** Answer to `shutdown`, sent just before the agent closes its socket. */
const byeResponseSchema = z.object({ ...responseBase, type: z.literal('bye') });

/** Any response. */
export const responseSchema = z.discriminatedUnion('type', [
  helloResponseSchema,
  acceptedResponseSchema,
  outputResponseSchema,
  logResponseSchema,
  resultResponseSchema,
  errorResponseSchema,
  executionResponseSchema,
  cancelledResponseSchema,
  releasedResponseSchema,
  byeResponseSchema,
]);
export type Response = z.infer<typeof responseSchema>;
export type ExecutionResponse = z.infer<typeof executionResponseSchema>;

/** Distributes Omit over a union, so each member keeps its own fields. */
type OmitEach<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;
/** A response before the version is stamped on it. */
export type ResponseBody = OmitEach<Response, 'v'>;

/** One line of the wire: JSON and a newline. */
export function encodeMessage(message: object): string {
  return `${JSON.stringify(message)}\n`;
}

/** One line per zod issue, with its dot path. */
export function describeIssues(error: z.ZodError): string[] {
  return error.issues.map((i) => `${i.path.length ? i.path.join('.') : '(root)'}: ${i.message}`);
}
