/**
 * Executions of one agent: running ones in memory, every one on disk (`execution-records.ts`).
 * Any number of listeners (one per attached request) follow an execution; a listener that joins
 * late first gets the recorded events, then the live ones, each event exactly once and in order.
 * Listeners come and go with connections; the execution itself never depends on them.
 */
import { createHash, randomUUID } from 'node:crypto';
import { promises as fs } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from 'pino';
import { readFileOrUndefined, writeFileAtomic } from '../durable-files.js';
import {
  type AgentIdentity,
  type ExecutionEvent,
  type ExecutionEventBody,
  ExecutionPaths,
  type ExecutionRequest,
  type ExecutionResult,
  readEvents,
  readRequest,
  readResult,
  wasCutOff,
  writeRequest,
  writeResult,
} from './execution-records.js';
import type { WireError } from './protocol.js';

/** File name under `steps/` of a phase step; undefined outside a phase attempt. */
function stepKey(f: Pick<ExecutionRequest, 'operationId' | 'phaseId' | 'attempt' | 'step'>): string | undefined {
  if (!f.operationId || !f.attempt || !f.step) return undefined;
  return createHash('sha256')
    .update(JSON.stringify([f.operationId, f.phaseId, f.attempt, f.step]))
    .digest('hex');
}

/** Longest `data` of one output event; keeps every wire line far below the line cap. */
const MAX_CHUNK_CHARS = 64 * 1024;

/** How an action ended, before it is stamped and recorded. */
export interface ExecutionOutcome {
  ok: boolean;
  data?: unknown;
  error?: WireError;
}

/** Receives the events and the result of one execution. */
export interface ExecutionListener {
  event(event: ExecutionEvent): void;
  result(result: ExecutionResult): void;
}

/** A running execution of this agent. */
export class LiveExecution {
  private seq = 0;
  private writes: Promise<void> = Promise.resolve();
  private readonly listeners = new Set<ExecutionListener>();
  private writeFailed = false;
  /** output.ndjson, opened at the first event: most actions print nothing. */
  private file: Promise<FileHandle> | undefined;
  result?: ExecutionResult;

  /** Aborts the action: a `cancel` request, or the agent stopping. */
  readonly controller = new AbortController();
  /** Settles once the result is recorded. */
  readonly done: Promise<ExecutionResult>;
  private settle!: (r: ExecutionResult) => void;

  constructor(
    readonly paths: ExecutionPaths,
    readonly request: ExecutionRequest,
    private readonly log: Logger,
  ) {
    this.done = new Promise((resolve) => (this.settle = resolve));
  }

  get id(): string {
    return this.paths.id;
  }

  /** Records an event and passes it to every listener; long output is split into chunks. */
  emit(body: ExecutionEventBody): void {
    if (body.type === 'output' && body.data.length > MAX_CHUNK_CHARS) {
      for (let i = 0; i < body.data.length; i += MAX_CHUNK_CHARS) {
        this.emit({ ...body, data: body.data.slice(i, i + MAX_CHUNK_CHARS) });
      }
      return;
    }
    const event = { seq: ++this.seq, ...body } as ExecutionEvent;
    const line = `${JSON.stringify(event)}\n`;
    this.writes = this.writes
      .then(async () => {
        this.file ??= fs.open(this.paths.output, 'a', 0o600);
        await (await this.file).write(line);
      })
      .catch((err: unknown) => {
        // Losing the record of some output must not fail the action; say so once.
        if (!this.writeFailed) this.log.error({ err, execution: this.id }, 'cannot record execution output');
        this.writeFailed = true;
      });
    for (const listener of this.listeners) listener.event(event);
  }

  /**
   * Follows the execution from its first event. Subscribes before reading the record, so events
   * emitted meanwhile are held back and deduplicated by `seq`. Returns the unsubscribe function.
   */
  async follow(listener: ExecutionListener): Promise<() => void> {
    const held: ExecutionEvent[] = [];
    let replaying = true;
    const proxy: ExecutionListener = {
      event: (e) => (replaying ? held.push(e) : listener.event(e)),
      result: (r) => {
        if (!replaying) listener.result(r);
      },
    };
    this.listeners.add(proxy);
    const unsubscribe = (): void => void this.listeners.delete(proxy);
    await this.writes;
    let last = 0;
    // Nothing emitted yet (the usual case: `run` follows what it just started): nothing to read.
    const recorded = this.seq === held.length ? [] : await readEvents(this.paths);
    for (const e of [...recorded, ...held]) {
      if (e.seq <= last) continue;
      listener.event(e);
      last = e.seq;
    }
    replaying = false;
    // A result reached while replaying was held back by the proxy; deliver it now.
    if (this.result) {
      unsubscribe();
      listener.result(this.result);
    }
    return unsubscribe;
  }

  /**
   * Waits for the output's writes, writes result.json, then tells the listeners. Not fsynced, as
   * the records are not (see RECORD in execution-records.ts): a sync here cost every action a
   * disk flush while the orchestrator's changelog is what survives a crash of the node.
   */
  async finish(outcome: ExecutionOutcome): Promise<ExecutionResult> {
    await this.writes;
    await (await this.file?.catch(() => undefined))?.close();
    const result: ExecutionResult = { ...outcome, finishedAt: new Date().toISOString() };
    try {
      await writeResult(this.paths, result);
    } catch (err) {
      this.log.error({ err, execution: this.id }, 'cannot record execution result');
    }
    this.result = result;
    for (const listener of this.listeners) listener.result(result);
    this.listeners.clear();
    this.settle(result);
    return result;
  }
}

/** Where an execution stands: running here, finished on its own, or cut off (runs again on resume). */
export interface ExecutionStanding {
  id: string;
  state: 'running' | 'finished' | 'died';
  request: ExecutionRequest;
  live?: LiveExecution;
  result?: ExecutionResult;
}

/** Fields of a new execution's request.json. */
export type NewExecution = Pick<ExecutionRequest, 'action' | 'params' | 'operationId' | 'phaseId' | 'attempt' | 'step' | 'epoch'>;

/** The executions of the agent `identity`, recorded under `<stateDir>/agent/executions/`. */
export class ExecutionStore {
  private readonly live = new Map<string, LiveExecution>();
  /** The executions directory, made once per agent (a mkdir per action showed in profiles). */
  private rootMade: Promise<void> | undefined;
  readonly root: string;
  private readonly steps: string;

  constructor(
    stateDir: string,
    private readonly identity: AgentIdentity,
    private readonly log: Logger,
  ) {
    this.root = path.join(stateDir, 'agent', 'executions');
    this.steps = path.join(stateDir, 'agent', 'steps');
  }

  /** Records a new execution and opens its output log; a phase step also names it in `steps/`. */
  async create(fields: NewExecution): Promise<LiveExecution> {
    this.rootMade ??= fs.mkdir(this.root, { recursive: true, mode: 0o700 }).then(() => undefined);
    await this.rootMade.catch((err: unknown) => {
      this.rootMade = undefined;
      throw err;
    });
    const paths = new ExecutionPaths(this.root, randomUUID());
    const request: ExecutionRequest = { execution: paths.id, ...fields, agent: this.identity, startedAt: new Date().toISOString() };
    await writeRequest(paths, request);
    const key = stepKey(fields);
    if (key) {
      await fs.mkdir(this.steps, { recursive: true, mode: 0o700 });
      // Not fsynced, like the execution records: they outlive the agent, not a crash of the node.
      await writeFileAtomic(path.join(this.steps, key), paths.id, { durable: false });
    }
    const execution = new LiveExecution(paths, request, this.log);
    this.live.set(paths.id, execution);
    return execution;
  }

  /** The execution that serves this phase step, if one was started. */
  async findStep(fields: Pick<ExecutionRequest, 'operationId' | 'phaseId' | 'attempt' | 'step'>): Promise<ExecutionStanding | undefined> {
    const key = stepKey(fields);
    if (!key) return undefined;
    const id = (await readFileOrUndefined(path.join(this.steps, key)))?.trim();
    return id ? this.inspect(id) : undefined;
  }

  /** Where execution `id` stands; undefined when it was never recorded here. */
  async inspect(id: string): Promise<ExecutionStanding | undefined> {
    const live = this.live.get(id);
    if (live) return { id, state: 'running', request: live.request, live };
    const paths = new ExecutionPaths(this.root, id);
    const request = await readRequest(paths);
    if (!request) return undefined;
    const result = await readResult(paths);
    if (!result) return { id, state: 'died', request };
    return { id, state: wasCutOff(result) ? 'died' : 'finished', request, result };
  }

  /** Forgets a finished execution (its record stays on disk). */
  release(execution: LiveExecution): void {
    this.live.delete(execution.id);
  }

  /** Running executions (for shutdown). */
  running(): LiveExecution[] {
    return [...this.live.values()];
  }

  /** True when execution `id` runs here or was recorded here. */
  async has(id: string): Promise<boolean> {
    if (this.live.has(id)) return true;
    try {
      await fs.access(new ExecutionPaths(this.root, id).request);
      return true;
    } catch {
      return false;
    }
  }

  /**
   * Replays execution `id` to `listener`, then follows it live if it is still running. Returns
   * the unsubscribe function, or undefined when no such execution was recorded here.
   */
  async follow(id: string, listener: ExecutionListener): Promise<(() => void) | undefined> {
    const running = this.live.get(id);
    if (running) return running.follow(listener);
    const paths = new ExecutionPaths(this.root, id);
    const request = await readRequest(paths);
    if (!request) return undefined;
    const events = await readEvents(paths);
    const result = (await readResult(paths)) ?? (await this.orphaned(paths, request));
    for (const e of events) listener.event(e);
    listener.result(result);
    return () => undefined;
  }

  /**
   * An execution without a result that this agent is not running was cut off when the agent that
   * ran it died. The verdict is recorded so that every later attach gets the same answer.
   */
  private async orphaned(paths: ExecutionPaths, request: ExecutionRequest): Promise<ExecutionResult> {
    const agent = request.agent.instance === this.identity.instance ? 'this agent' : `the agent that ran it (pid ${request.agent.pid})`;
    const phase = request.phaseId ? ` of phase ${request.phaseId}` : '';
    const result: ExecutionResult = {
      ok: false,
      error: {
        code: 'ERR_AGENT_RESTARTED',
        message: `execution ${paths.id} (action "${request.action}"${phase}) was cut off: ${agent} stopped before it finished`,
        hint: 'the action may be partly applied; re-run the phase (executors are idempotent)',
      },
      finishedAt: new Date().toISOString(),
    };
    try {
      await writeResult(paths, result);
    } catch (err) {
      this.log.error({ err, execution: paths.id }, 'cannot record the result of a cut-off execution');
    }
    return result;
  }
}
