/**
 * The orchestrator's end of the agent protocol, over any duplex byte stream (an SSH-forwarded
 * channel to the agent socket in production, a Unix socket in tests). Calls are multiplexed by
 * request id, every incoming line is validated, and a lost connection rejects each pending call
 * with ERR_AGENT_DISCONNECTED carrying the execution id it had been given, so the caller can
 * re-attach on a new connection: the execution goes on on the node regardless.
 */
import type { Duplex } from 'node:stream';
import { ExitCode, type ExitCodeValue } from '../errors.js';
import { AgentError, fromWireError } from './errors.js';
import { decodeLine, LineSplitter } from './framing.js';
import {
  describeIssues,
  type ExecutionResponse,
  encodeMessage,
  type LogLevel,
  MAX_LINE_BYTES,
  type NodeLease,
  type OutputStream,
  PROTOCOL_VERSION,
  type RequestInput,
  type Response,
  requestSchema,
  responseSchema,
} from './protocol.js';

/** Who answered `hello`. */
export interface AgentInfo {
  version: string;
  /** sha256 of the bundle the agent was started from, when its deployer said. */
  build?: string;
  hostname: string;
  pid: number;
  /** Executions running on the node: phase (or action) by execution id. */
  running?: Record<string, string>;
  /** The operation the node serves, if any. */
  lease?: NodeLease;
}

/** Where an execution stands on its node (`inspect`). */
export type ExecutionInfo = Omit<ExecutionResponse, 'v' | 'id' | 'type'>;

/** Options of one call. */
export interface CallOptions {
  /** Operation and phase the call belongs to; empty outside an operation. */
  operationId?: string;
  phaseId?: string;
  /** Epoch of the cluster lease this orchestrator holds, and who it is (node lease, protocol.ts). */
  epoch?: number;
  holder?: { host: string; pid: number };
  /** Phase attempt and step of a `run` (one execution per step, protocol.ts). */
  attempt?: string;
  step?: string;
  /** Stops waiting (ERR_AGENT_ABORTED); the execution itself goes on on the node. */
  signal?: AbortSignal;
  /** The execution id, as soon as the agent accepted the request (record it to re-attach later). */
  onAccepted?(execution: string): void;
  onOutput?(stream: OutputStream, data: string): void;
  onLog?(level: LogLevel, message: string): void;
}

/** Options of a client. */
export interface AgentClientOptions {
  /** Node name for error messages. */
  node?: string;
  maxLineBytes?: number;
}

type CallBody =
  | { type: 'hello' }
  | { type: 'shutdown'; force: boolean }
  | { type: 'release' }
  | { type: 'cancel'; execution?: string }
  | { type: 'inspect'; execution: string }
  | { type: 'run'; action: string; params: Record<string, unknown>; attempt?: string; step?: string }
  | { type: 'attach'; execution: string };

interface PendingCall {
  type: CallBody['type'];
  options: CallOptions;
  execution?: string;
  resolve(value: unknown): void;
  reject(err: AgentError): void;
}

/** A connection to one agent. */
export class AgentClient {
  private nextId = 1;
  private readonly pending = new Map<string, PendingCall>();
  private lost?: string;
  private readonly node?: string;
  private readonly maxLineBytes: number;

  constructor(
    private readonly stream: Duplex,
    options: AgentClientOptions = {},
  ) {
    this.node = options.node;
    this.maxLineBytes = options.maxLineBytes ?? MAX_LINE_BYTES;
    const splitter = new LineSplitter(
      this.maxLineBytes,
      (line) => this.onLine(line),
      () => this.fail(`the agent sent a line longer than ${this.maxLineBytes} bytes`),
    );
    stream.on('data', (chunk: Buffer) => splitter.push(chunk));
    stream.on('end', () => this.fail('the agent closed the connection'));
    stream.on('close', () => this.fail('the connection closed'));
    stream.on('error', (err) => this.fail(err.message));
  }

  /** Asks who is there. */
  async hello(options: CallOptions = {}): Promise<AgentInfo> {
    return (await this.call({ type: 'hello' }, options)) as AgentInfo;
  }

  /** Runs `action` and resolves with its result data; a failed action throws its AgentError. */
  async run<T = unknown>(action: string, params: Record<string, unknown> = {}, options: CallOptions = {}): Promise<T> {
    const ids = { ...(options.attempt ? { attempt: options.attempt } : {}), ...(options.step ? { step: options.step } : {}) };
    return (await this.call({ type: 'run', action, params, ...ids }, options)) as T;
  }

  /** Follows an execution started earlier (replayed output first) and resolves with its result data. */
  async attach<T = unknown>(execution: string, options: CallOptions = {}): Promise<T> {
    return (await this.call({ type: 'attach', execution }, options)) as T;
  }

  /** Where an execution stands, without following it. */
  async inspect(execution: string, options: CallOptions = {}): Promise<ExecutionInfo> {
    return (await this.call({ type: 'inspect', execution }, options)) as ExecutionInfo;
  }

  /**
   * Cancels one execution, or every live execution of the options' operation and phase; resolves
   * with their ids once they have ended on the node.
   */
  async cancel(execution: string | undefined, options: CallOptions = {}): Promise<string[]> {
    return (await this.call({ type: 'cancel', ...(execution ? { execution } : {}) }, options)) as string[];
  }

  /** Releases the node lease of the options' operation. */
  async release(options: CallOptions = {}): Promise<void> {
    await this.call({ type: 'release' }, options);
  }

  /** Asks the agent to stop; resolves once it has acknowledged. Refused while executions run unless `force`. */
  async shutdown(options: CallOptions & { force?: boolean } = {}): Promise<void> {
    await this.call({ type: 'shutdown', force: !!options.force }, options);
  }

  /** Closes the connection; pending calls fail with ERR_AGENT_DISCONNECTED. */
  close(): void {
    this.stream.end();
    this.stream.destroy();
  }

  private call(body: CallBody, options: CallOptions): Promise<unknown> {
    const id = `r${this.nextId++}`;
    const request: RequestInput = {
      v: PROTOCOL_VERSION,
      id,
      operationId: options.operationId ?? '',
      phaseId: options.phaseId ?? '',
      epoch: options.epoch ?? 0,
      ...(options.holder ? { holder: options.holder } : {}),
      ...body,
    };
    const checked = requestSchema.safeParse(request);
    if (!checked.success) {
      const details = describeIssues(checked.error);
      return Promise.reject(
        this.error('ERR_AGENT_BAD_REQUEST', `invalid ${body.type} request: ${details.join('; ')}`, ExitCode.invalidInput, { details }),
      );
    }
    const line = encodeMessage(request);
    if (Buffer.byteLength(line) > this.maxLineBytes) {
      return Promise.reject(
        this.error('ERR_AGENT_BAD_REQUEST', `${body.type} request is larger than ${this.maxLineBytes} bytes`, ExitCode.invalidInput),
      );
    }
    if (this.lost !== undefined || this.stream.destroyed || !this.stream.writable) {
      return Promise.reject(this.disconnected(this.lost ?? 'the connection is closed'));
    }
    if (options.signal?.aborted) {
      return Promise.reject(this.error('ERR_AGENT_ABORTED', `${body.type} request aborted before it was sent`, ExitCode.interrupted));
    }
    return new Promise((resolve, reject) => {
      const onAbort = (): void => {
        const call = this.pending.get(id);
        if (!call) return;
        this.pending.delete(id);
        const following = call.execution ? `; execution ${call.execution} goes on on the node` : '';
        reject(
          this.error(
            'ERR_AGENT_ABORTED',
            `stopped waiting for ${body.type} request${following}`,
            ExitCode.interrupted,
            call.execution ? { execution: call.execution } : {},
          ),
        );
      };
      const done = (): void => options.signal?.removeEventListener('abort', onAbort);
      this.pending.set(id, {
        type: body.type,
        options,
        resolve: (value) => {
          done();
          resolve(value);
        },
        reject: (err) => {
          done();
          reject(err);
        },
      });
      options.signal?.addEventListener('abort', onAbort, { once: true });
      this.stream.write(line);
    });
  }

  private onLine(line: string): void {
    const decoded = decodeLine(line, responseSchema, 'response');
    if (!decoded.ok) {
      const call = this.pending.get(decoded.id);
      // A bad line that names a call fails that call; any other means the stream cannot be trusted.
      if (!call) return this.fail(`the agent sent an invalid message: ${decoded.error.message}`, 'ERR_AGENT_BAD_MESSAGE');
      this.pending.delete(decoded.id);
      call.reject(fromWireError(decoded.error, this.extra(call)));
      return;
    }
    const message = decoded.value;
    const call = this.pending.get(message.id);
    if (call) this.dispatch(message, call);
  }

  private dispatch(message: Response, call: PendingCall): void {
    switch (message.type) {
      case 'accepted':
        call.execution = message.execution;
        call.options.onAccepted?.(message.execution);
        return;
      case 'output':
        call.options.onOutput?.(message.stream, message.data);
        return;
      case 'log':
        call.options.onLog?.(message.level, message.message);
        return;
      case 'error':
        this.settle(message.id, call, fromWireError(message.error, this.extra(call)));
        return;
      case 'result':
        call.execution ??= message.execution;
        if (message.ok) this.settle(message.id, call, undefined, message.data);
        else
          this.settle(
            message.id,
            call,
            fromWireError(message.error ?? { code: 'ERR_AGENT_ACTION_FAILED', message: 'action failed' }, this.extra(call)),
          );
        return;
      case 'hello':
        if (call.type !== 'hello') return this.mismatch(message.id, call, message.type);
        this.settle(message.id, call, undefined, {
          version: message.version,
          ...(message.build ? { build: message.build } : {}),
          hostname: message.hostname,
          pid: message.pid,
          running: message.running,
          ...(message.lease ? { lease: message.lease } : {}),
        });
        return;
      case 'execution': {
        if (call.type !== 'inspect') return this.mismatch(message.id, call, message.type);
        const { v: _v, id: _id, type: _t, ...info } = message;
        this.settle(message.id, call, undefined, info);
        return;
      }
      case 'cancelled':
        if (call.type !== 'cancel') return this.mismatch(message.id, call, message.type);
        this.settle(message.id, call, undefined, message.executions);
        return;
      case 'released':
        if (call.type !== 'release') return this.mismatch(message.id, call, message.type);
        this.settle(message.id, call, undefined);
        return;
      case 'bye':
        if (call.type !== 'shutdown') return this.mismatch(message.id, call, message.type);
        this.settle(message.id, call, undefined);
        return;
    }
  }

  private mismatch(id: string, call: PendingCall, got: string): void {
    this.settle(id, call, this.error('ERR_AGENT_BAD_MESSAGE', `agent answered a ${call.type} request with "${got}"`, ExitCode.internal));
  }

  private settle(id: string, call: PendingCall, err: AgentError | undefined, value?: unknown): void {
    this.pending.delete(id);
    if (err) call.reject(err);
    else call.resolve(value);
  }

  /** Fails every pending call; later calls fail at once. */
  private fail(reason: string, code = 'ERR_AGENT_DISCONNECTED'): void {
    this.lost ??= reason;
    const calls = [...this.pending.values()];
    this.pending.clear();
    for (const call of calls) {
      call.reject(
        code === 'ERR_AGENT_DISCONNECTED'
          ? this.disconnected(reason, call.execution)
          : this.error(code, reason, ExitCode.internal, this.extra(call)),
      );
    }
    if (code !== 'ERR_AGENT_DISCONNECTED') this.stream.destroy();
  }

  private disconnected(reason: string, execution?: string): AgentError {
    const where = this.node ? ` on ${this.node}` : '';
    if (!execution) {
      return this.error('ERR_AGENT_DISCONNECTED', `lost the connection to the agent${where}: ${reason}`, ExitCode.unreachable, {
        hint: 'reconnect and retry; a request sent but not yet accepted may or may not have started',
      });
    }
    return this.error(
      'ERR_AGENT_DISCONNECTED',
      `lost the connection to the agent${where} while execution ${execution} was running: ${reason}`,
      ExitCode.unreachable,
      {
        execution,
        hint: `the execution goes on on the node; reconnect and attach to ${execution} for its result`,
      },
    );
  }

  private extra(call: PendingCall): { execution?: string; node?: string } {
    return { ...(call.execution ? { execution: call.execution } : {}), ...(this.node ? { node: this.node } : {}) };
  }

  private error(
    code: string,
    message: string,
    exitCode: ExitCodeValue,
    extra: { execution?: string; hint?: string; details?: string[] } = {},
  ): AgentError {
    return new AgentError(code, message, exitCode, { ...extra, ...(this.node ? { node: this.node } : {}) });
  }
}
