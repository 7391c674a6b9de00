/**
 * The node side of the agent: a Unix socket server at `<stateDir>/agent.sock` (mode 0600) that
 * runs actions of the closed registry and records every execution. Only one agent serves a state
 * dir: a live agent at the socket makes a second one refuse to start, a dead one's socket is
 * removed. An action outlives the connection that started it; stopping the agent aborts the
 * running actions and waits for their results to be recorded.
 */
import { randomUUID } from 'node:crypto';
import { promises as fs } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import type { Logger } from 'pino';
import { isErrno, writeFileAtomic } from '../durable-files.js';
import { ExitCode } from '../errors.js';
import type { Action, ActionContext } from './actions/types.js';
import { AgentConnection, type ConnectionHost, type StartedExecution } from './connection.js';
import { AgentError, toWireError } from './errors.js';
import type { AgentIdentity } from './execution-records.js';
import { type ExecutionOutcome, ExecutionStore } from './executions.js';
import { stopKubeProxies } from './kube-proxy.js';
import { NodeLeaseKeeper } from './node-lease.js';
import { stopOrphanedGroups } from './orphans.js';
import { MAX_LINE_BYTES, type Request } from './protocol.js';

type RunRequest = Extract<Request, { type: 'run' }>;
type CancelRequest = Extract<Request, { type: 'cancel' }>;

/**
 * The kubectl proxy serves one run: once no client has been connected for this long (the run
 * ended, or its orchestrator died and its SSH connection with it), the proxy stops.
 */
const CLIENTLESS_PROXY_MS = 2000;

// sun_path holds 108 bytes on Linux, the terminating NUL included.
const MAX_SOCKET_PATH_BYTES = 107;

/** Options of `startAgent`. */
export interface AgentOptions {
  stateDir: string;
  version: string;
  /** sha256 of the bundle the deployer started (`--build`), reported in `hello`; absent when started by hand. */
  build?: string;
  log: Logger;
  /** Line cap for requests and responses (tests lower it). */
  maxLineBytes?: number;
  /** How long an unrenewed node lease holds (default NODE_LEASE_TTL_MS; 0: leases never hold). */
  leaseTtlMs?: number;
}

/** A started agent. */
export interface RunningAgent {
  readonly socketPath: string;
  readonly pidFile: string;
  readonly identity: AgentIdentity;
  /** Stops accepting, aborts running actions, waits for their results, removes socket and pid file. */
  stop(): Promise<void>;
  /** Settles once the agent has stopped, by `stop()` or a `shutdown` request. */
  readonly stopped: Promise<void>;
}

/** Path of the agent socket of a node state dir. */
function agentSocketPath(stateDir: string): string {
  return path.join(stateDir, 'agent.sock');
}

/** Starts an agent serving `stateDir`. */
export async function startAgent(options: AgentOptions): Promise<RunningAgent> {
  const stateDir = path.resolve(options.stateDir);
  const { log, version } = options;
  const socketPath = agentSocketPath(stateDir);
  const pidFile = path.join(stateDir, 'agent', 'agent.pid');
  await fs.mkdir(path.dirname(pidFile), { recursive: true, mode: 0o700 });
  await clearSocketPath(socketPath);

  const identity: AgentIdentity = { pid: process.pid, instance: randomUUID(), version };
  const store = new ExecutionStore(stateDir, identity, log);
  // Before anything is served: a step of a dead agent must not run twice, once orphaned and once anew.
  await stopOrphanedGroups(stateDir, store.root, log);
  const leases = await NodeLeaseKeeper.open(stateDir, options.leaseTtlMs);
  const abort = new AbortController();
  const running = new Set<Promise<void>>();
  const connections = new Set<AgentConnection>();

  const start = async (action: Action, params: unknown, request: RunRequest): Promise<StartedExecution> => {
    if (abort.signal.aborted) throw new AgentError('ERR_AGENT_STOPPING', 'agent is shutting down', ExitCode.phaseFailed);
    await leases.admit(request, action.name);
    const { operationId, phaseId, attempt, step, epoch } = request;
    // One execution per phase step: a repeated step follows the execution it already has.
    const prior = await store.findStep(request);
    if (prior && prior.state !== 'died') {
      log.info({ execution: prior.id, op: operationId, phase: phaseId, state: prior.state }, 'repeated step follows its execution');
      return { id: prior.id, subscribe: (listener) => store.follow(prior.id, listener) };
    }
    if (attempt) refuseBusyPhase(store, request);
    const execution = await store
      .create({ action: action.name, params: request.params, operationId, phaseId, attempt, step, epoch })
      .catch((err: unknown) => {
        throw new AgentError(
          'ERR_AGENT_RECORD',
          `cannot record a new execution under ${store.root}: ${(err as Error).message}`,
          ExitCode.phaseFailed,
          {
            hint: `check free space and permissions of ${stateDir} on the node`,
            cause: err,
          },
        );
      });
    const bindings = { execution: execution.id, action: action.name, op: operationId || undefined, phase: phaseId || undefined };
    log.info(bindings, 'execution started');
    const ctx: ActionContext = {
      stateDir,
      version,
      operationId,
      phaseId,
      executionId: execution.id,
      signal: AbortSignal.any([abort.signal, execution.controller.signal]),
      output: (stream, data) => execution.emit({ type: 'output', stream, data }),
      log: (level, message) => {
        execution.emit({ type: 'log', level, message });
        log[level](bindings, message);
      },
    };
    const done = runAction(action, ctx, params)
      .then(async (outcome) => {
        await execution.finish(stoppedOutcome(outcome, execution.controller.signal, abort.signal));
        log.info({ ...bindings, ok: outcome.ok, error: outcome.error }, 'execution finished');
      })
      .catch((err: unknown) => log.error({ ...bindings, err }, 'execution could not be finished'))
      .finally(() => {
        store.release(execution);
        running.delete(done);
      });
    running.add(done);
    return { id: execution.id, subscribe: (listener) => execution.follow(listener) };
  };

  const cancel = async (request: CancelRequest): Promise<string[]> => {
    await leases.admit(request);
    const targets = store
      .running()
      .filter((e) =>
        request.execution
          ? e.id === request.execution
          : e.request.operationId === request.operationId && e.request.phaseId === request.phaseId,
      );
    for (const e of targets) {
      log.info({ execution: e.id, op: request.operationId, phase: e.request.phaseId }, 'execution cancelled');
      e.controller.abort(CANCELLED);
    }
    await Promise.all(targets.map((e) => e.done));
    return targets.map((e) => e.id);
  };

  let stopping: Promise<void> | undefined;
  let resolveStopped!: () => void;
  const stopped = new Promise<void>((resolve) => (resolveStopped = resolve));
  const server = net.createServer((socket) => {
    const connection = new AgentConnection(socket, host);
    connections.add(connection);
    socket.on('close', () => {
      connections.delete(connection);
      if (connections.size) return;
      setTimeout(() => {
        if (connections.size) return;
        void stopKubeProxies().then((n) => n && log.info('kubectl proxy stopped: no client is connected'));
      }, CLIENTLESS_PROXY_MS).unref();
    });
  });
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      log.info({ running: running.size }, 'agent stopping');
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      abort.abort();
      await Promise.allSettled([...running]);
      if (await stopKubeProxies()) log.info('kubectl proxy stopped with the agent');
      for (const connection of connections) connection.end(1000);
      await closed;
      await fs.rm(socketPath, { force: true });
      await removePidFile(pidFile);
      log.info('agent stopped');
      resolveStopped();
    })();
    return stopping;
  };
  const host: ConnectionHost = {
    store,
    leases,
    hello: () => ({
      version,
      ...(options.build ? { build: options.build } : {}),
      hostname: os.hostname(),
      pid: process.pid,
      running: Object.fromEntries(store.running().map((e) => [e.id, e.request.phaseId || e.request.action])),
      ...(leases.current() ? { lease: leases.current() } : {}),
    }),
    maxLineBytes: options.maxLineBytes ?? MAX_LINE_BYTES,
    log,
    start,
    cancel,
    shutdown: () => void stop(),
  };

  await listen(server, socketPath);
  await writeFileAtomic(pidFile, `${process.pid}\n`);
  log.info({ socket: socketPath, version, pid: process.pid }, 'agent listening');
  return { socketPath, pidFile, identity, stop, stopped };
}

/** Abort reason of a `cancel` request (an agent shutdown aborts without one). */
const CANCELLED = 'cancelled';

/**
 * An action that failed because it was stopped from outside is recorded with the code saying so,
 * whatever its own error was: that code is what makes a resume run the step again.
 */
function stoppedOutcome(outcome: ExecutionOutcome, cancelled: AbortSignal, stopping: AbortSignal): ExecutionOutcome {
  if (outcome.ok) return outcome;
  const detail = outcome.error?.message ?? 'stopped';
  if (cancelled.aborted) {
    return {
      ok: false,
      error: { code: 'ERR_EXECUTION_CANCELLED', message: `cancelled: ${detail}`, hint: 'the phase runs it again when resumed' },
    };
  }
  if (stopping.aborted && outcome.error?.code !== 'ERR_AGENT_STOPPING') {
    return {
      ok: false,
      error: { code: 'ERR_AGENT_STOPPING', message: `the agent stopped: ${detail}`, hint: 'start the agent again and re-run the phase' },
    };
  }
  return outcome;
}

/** Refuses a second live run of one phase: an execution of another attempt still runs here. */
function refuseBusyPhase(store: ExecutionStore, request: RunRequest): void {
  const busy = store
    .running()
    .find(
      (e) =>
        e.request.operationId === request.operationId && e.request.phaseId === request.phaseId && e.request.attempt !== request.attempt,
    );
  if (!busy) return;
  throw new AgentError(
    'ERR_AGENT_PHASE_BUSY',
    `phase ${request.phaseId} still has execution ${busy.id} (action "${busy.request.action}", started ${busy.request.startedAt}) running on this node`,
    ExitCode.stateConflict,
    { hint: `wait for it with "hoist plan resume", or stop it with "hoist plan cancel --phase ${request.phaseId}"` },
  );
}

async function runAction(action: Action, ctx: ActionContext, params: unknown): Promise<ExecutionOutcome> {
  try {
    const data = await action.run(ctx, params);
    return data === undefined ? { ok: true } : { ok: true, data };
  } catch (err) {
    return { ok: false, error: toWireError(err) };
  }
}

/**
 * Makes `socketPath` free to listen on: removes a stale socket, refuses when a live agent
 * answers there or when something other than a socket sits at the path.
 */
async function clearSocketPath(socketPath: string): Promise<void> {
  if (Buffer.byteLength(socketPath) > MAX_SOCKET_PATH_BYTES) {
    throw new AgentError(
      'ERR_AGENT_SOCKET_PATH',
      `socket path ${socketPath} is longer than ${MAX_SOCKET_PATH_BYTES} bytes`,
      ExitCode.invalidInput,
      {
        hint: 'use a shorter --state-dir',
      },
    );
  }
  let stat;
  try {
    stat = await fs.lstat(socketPath);
  } catch (err) {
    if (isErrno(err, 'ENOENT')) return;
    throw err;
  }
  if (!stat.isSocket()) {
    throw new AgentError('ERR_AGENT_SOCKET_PATH', `${socketPath} exists and is not a socket`, ExitCode.stateConflict, {
      hint: `move ${socketPath} out of the way, then start the agent again`,
    });
  }
  if (await answers(socketPath)) {
    throw new AgentError('ERR_AGENT_RUNNING', `another agent is already listening on ${socketPath}`, ExitCode.stateConflict, {
      hint: `stop it first ("hoist agent shutdown", or kill the pid in ${path.join(path.dirname(socketPath), 'agent', 'agent.pid')})`,
    });
  }
  await fs.rm(socketPath, { force: true });
}

/** True when something accepts connections on the socket. */
function answers(socketPath: string): Promise<boolean> {
  return new Promise((resolve, reject) => {
    const probe = net.connect(socketPath);
    probe.once('connect', () => {
      probe.destroy();
      resolve(true);
    });
    probe.once('error', (err) => {
      if (isErrno(err, 'ECONNREFUSED') || isErrno(err, 'ENOENT')) resolve(false);
      else reject(err);
    });
  });
}

/** Listens with a 0600 socket; the umask closes the window between bind and chmod. */
async function listen(server: net.Server, socketPath: string): Promise<void> {
  const listening = new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.once('listening', () => {
      server.off('error', reject);
      resolve();
    });
  });
  let previous: number | undefined;
  try {
    previous = process.umask(0o177);
  } catch {
    // Worker threads cannot change the umask; the chmod below still applies.
  }
  try {
    // For a Unix socket the bind happens synchronously inside listen(), so the umask is
    // restored before any other code of this process can create a file.
    server.listen(socketPath);
  } finally {
    if (previous !== undefined) process.umask(previous);
  }
  await listening;
  await fs.chmod(socketPath, 0o600);
}

/** Removes the pid file if it is still ours (a newer agent may have replaced it). */
async function removePidFile(pidFile: string): Promise<void> {
  try {
    if ((await fs.readFile(pidFile, 'utf8')).trim() === String(process.pid)) await fs.rm(pidFile, { force: true });
  } catch (err) {
    if (!isErrno(err, 'ENOENT')) throw err;
  }
}
