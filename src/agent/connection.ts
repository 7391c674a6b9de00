/**
 * One client connection to the agent. Requests are independent: each is answered under its own
 * id, a bad line gets an `error` answer and the connection goes on. Closing the connection only
 * detaches its listeners; the executions it started keep running and stay attachable.
 */
import type { Socket } from 'node:net';
import type { Logger } from 'pino';
import { ACTIONS, findAction } from './actions/index.js';
import type { Action } from './actions/types.js';
import { toWireError } from './errors.js';
import type { ExecutionListener, ExecutionStore } from './executions.js';
import { decodeLine, LineSplitter } from './framing.js';
import type { NodeLeaseKeeper } from './node-lease.js';
import {
  describeIssues,
  encodeMessage,
  PROTOCOL_VERSION,
  type Request,
  type ResponseBody,
  requestSchema,
  type WireError,
} from './protocol.js';

type RunRequest = Extract<Request, { type: 'run' }>;
type AttachRequest = Extract<Request, { type: 'attach' }>;
type CancelRequest = Extract<Request, { type: 'cancel' }>;

/** The execution that serves a `run`: a new one, or the one its phase step already has. */
export interface StartedExecution {
  id: string;
  subscribe(listener: ExecutionListener): Promise<(() => void) | undefined>;
}

/** What a connection needs from the agent that accepted it. */
export interface ConnectionHost {
  readonly store: ExecutionStore;
  readonly leases: NodeLeaseKeeper;
  hello(): Omit<Extract<ResponseBody, { type: 'hello' }>, 'type' | 'id'>;
  readonly maxLineBytes: number;
  readonly log: Logger;
  /** Starts the action in the background (or finds the execution of its step). */
  start(action: Action, params: unknown, request: RunRequest): Promise<StartedExecution>;
  /** Cancels executions and resolves with their ids once they have ended. */
  cancel(request: CancelRequest): Promise<string[]>;
  /** Called after `bye` was written. */
  shutdown(): void;
}

/** Serves the requests of one socket. */
export class AgentConnection {
  /** Requests in flight by id, with what detaches them from their execution. */
  private readonly inFlight = new Map<string, () => void>();
  private closed = false;

  constructor(
    private readonly socket: Socket,
    private readonly host: ConnectionHost,
  ) {
    const max = host.maxLineBytes;
    const splitter = new LineSplitter(
      max,
      (line) => this.onLine(line),
      () => this.refuse('', { code: 'ERR_AGENT_BAD_MESSAGE', message: `request line longer than ${max} bytes was dropped` }),
    );
    socket.on('data', (chunk: Buffer) => splitter.push(chunk));
    socket.on('close', () => this.dispose());
    socket.on('error', (err) => host.log.debug({ err }, 'agent connection error'));
  }

  /** Ends the connection after pending writes are flushed; a peer that does not close is cut off. */
  end(graceMs: number): void {
    this.socket.end();
    setTimeout(() => this.socket.destroy(), graceMs).unref();
  }

  private onLine(line: string): void {
    const decoded = decodeLine(line, requestSchema, 'request');
    if (!decoded.ok) {
      this.host.log.warn({ error: decoded.error }, 'refused an agent request');
      this.refuse(decoded.id, decoded.error);
      return;
    }
    const request = decoded.value;
    if (this.inFlight.has(request.id)) {
      this.refuse(request.id, {
        code: 'ERR_AGENT_BAD_MESSAGE',
        message: `request id "${request.id}" is already in flight on this connection`,
      });
      return;
    }
    switch (request.type) {
      case 'hello':
        this.send({ type: 'hello', id: request.id, ...this.host.hello() });
        return;
      case 'inspect':
        void this.inspect(request).catch((err: unknown) => this.failed(request.id, err));
        return;
      case 'cancel':
        this.inFlight.set(request.id, () => undefined);
        void this.host
          .cancel(request)
          .then((executions) => {
            this.inFlight.delete(request.id);
            this.send({ type: 'cancelled', id: request.id, executions });
          })
          .catch((err: unknown) => this.failed(request.id, err));
        return;
      case 'release':
        void this.host.leases
          .release(request)
          .then(() => this.send({ type: 'released', id: request.id }))
          .catch((err: unknown) => this.failed(request.id, err));
        return;
      case 'run':
        void this.run(request).catch((err: unknown) => this.failed(request.id, err));
        return;
      case 'attach':
        void this.attach(request).catch((err: unknown) => this.failed(request.id, err));
        return;
      case 'shutdown':
        if (!request.force && this.host.store.running().length > 0) {
          const ids = this.host.store.running().map((e) => `${e.id} (${e.request.phaseId || e.request.action})`);
          this.refuse(request.id, {
            code: 'ERR_AGENT_BUSY',
            message: `agent has executions running: ${ids.join(', ')}`,
            hint: 'wait for them (hoist plan resume), cancel them (hoist plan cancel --phase P), or pass --force',
          });
          return;
        }
        this.host.log.info({ op: request.operationId }, 'shutdown requested');
        this.socket.write(encodeMessage({ v: PROTOCOL_VERSION, type: 'bye', id: request.id }), () => this.host.shutdown());
        return;
    }
  }

  private async run(request: RunRequest): Promise<void> {
    const action = findAction(request.action);
    if (!action) {
      this.refuse(request.id, {
        code: 'ERR_AGENT_UNKNOWN_ACTION',
        message: `agent has no action "${request.action}" (it runs: ${[...ACTIONS.keys()].join(', ')})`,
        hint: 'the orchestrator and the agent may be different hoist versions: redeploy the agent with "hoist agent deploy"',
      });
      return;
    }
    const params = action.params.safeParse(request.params);
    if (!params.success) {
      const details = describeIssues(params.error);
      this.refuse(request.id, {
        code: 'ERR_AGENT_BAD_PARAMS',
        message: `invalid params for action "${action.name}": ${details.join('; ')}`,
        details,
      });
      return;
    }
    this.inFlight.set(request.id, () => undefined);
    const execution = await this.host.start(action, params.data, request);
    this.send({ type: 'accepted', id: request.id, execution: execution.id });
    await this.follow(request.id, execution.id, (listener) => execution.subscribe(listener));
  }

  private async inspect(request: Extract<Request, { type: 'inspect' }>): Promise<void> {
    const found = await this.host.store.inspect(request.execution);
    if (!found) {
      this.refuse(request.id, {
        code: 'ERR_AGENT_UNKNOWN_EXECUTION',
        message: `agent has no record of execution ${request.execution}`,
        hint: 'the execution id may belong to another node, or its record under <stateDir>/agent/executions was removed',
      });
      return;
    }
    const { result } = found;
    this.send({
      type: 'execution',
      id: request.id,
      execution: found.id,
      state: found.state,
      action: found.request.action,
      phaseId: found.request.phaseId,
      attempt: found.request.attempt,
      ...(result ? { ok: result.ok, ...(result.error ? { error: result.error } : {}) } : {}),
    });
  }

  private async attach(request: AttachRequest): Promise<void> {
    const { store } = this.host;
    this.inFlight.set(request.id, () => undefined);
    if (await store.has(request.execution)) {
      this.send({ type: 'accepted', id: request.id, execution: request.execution });
      if (await this.follow(request.id, request.execution, (listener) => store.follow(request.execution, listener))) return;
    }
    this.inFlight.delete(request.id);
    this.refuse(request.id, {
      code: 'ERR_AGENT_UNKNOWN_EXECUTION',
      message: `agent has no record of execution ${request.execution}`,
      hint: 'the execution id may belong to another node, or its record under <stateDir>/agent/executions was removed',
    });
  }

  /** Streams an execution to request `id` until its result; false when the execution is unknown. */
  private async follow(
    id: string,
    execution: string,
    subscribe: (listener: ExecutionListener) => Promise<(() => void) | undefined>,
  ): Promise<boolean> {
    let done = false;
    const unsubscribe = await subscribe({
      event: (e) =>
        e.type === 'output'
          ? this.send({ type: 'output', id, execution, stream: e.stream, data: e.data })
          : this.send({ type: 'log', id, execution, level: e.level, message: e.message }),
      result: (r) => {
        done = true;
        this.inFlight.delete(id);
        this.send({ type: 'result', id, execution, ok: r.ok, ...(r.ok ? { data: r.data } : { error: r.error }) });
      },
    });
    if (!unsubscribe) {
      this.inFlight.delete(id);
      return false;
    }
    if (this.closed) unsubscribe();
    else if (!done) this.inFlight.set(id, unsubscribe);
    return true;
  }

  private failed(id: string, err: unknown): void {
    this.host.log.error({ err, request: id }, 'agent request failed');
    this.inFlight.delete(id);
    this.refuse(id, toWireError(err));
  }

  private refuse(id: string, error: WireError): void {
    this.send({ type: 'error', id, error });
  }

  private send(body: ResponseBody): void {
    if (this.closed || this.socket.destroyed) return;
    let line = encodeMessage({ v: PROTOCOL_VERSION, ...body });
    if (Buffer.byteLength(line) > this.host.maxLineBytes && body.type === 'result') {
      const error = {
        code: 'ERR_AGENT_RESULT_TOO_LARGE',
        message: `result of execution ${body.execution} exceeds ${this.host.maxLineBytes} bytes`,
      };
      line = encodeMessage({ v: PROTOCOL_VERSION, type: 'result', id: body.id, execution: body.execution, ok: false, error });
    }
    this.socket.write(line);
  }

  private dispose(): void {
    this.closed = true;
    for (const unsubscribe of this.inFlight.values()) unsubscribe();
    this.inFlight.clear();
  }
}
