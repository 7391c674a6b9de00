/**
 * NodeAccess over the cluster's agents: one SSH connection per node (the pool), one agent
 * connection per node on top of it (a forwarded Unix socket), reused for every phase of a run.
 * A dropped connection does not lose an action: the agent finishes it and we re-attach by its
 * execution id on a fresh connection. The orchestrator's own host runs actions in-process.
 */
import { createHash } from 'node:crypto';
import type { Logger } from 'pino';
import { runActionLocally } from '../agent/actions/run-local.js';
import { AgentClient, type AgentInfo, type CallOptions } from '../agent/client.js';
import { AgentError } from '../agent/errors.js';
import { agentEndpoint } from '../agent/lifecycle.js';
import { ExitCode, HoistError, UnreachableError } from '../errors.js';
import type { SshPool } from '../ssh/pool.js';
import type { NodeSettings } from './inventory.js';
import type { NodeAccess, RunOptions } from './node-access.js';

/** Where an execution recorded by a phase stands (`unknown`: the node has no record of it). */
export type ExecutionStanding = 'running' | 'finished' | 'died' | 'unknown';

/** How many times a dropped action is re-attached before giving up. */
const REATTACH_ATTEMPTS = 5;
/** Bound of the wait for a cancelled execution to end (a hook gets TERM, then KILL 5 s later). */
const CANCEL_WAIT_MS = 30_000;

/** The identity part of a call: operation, phase, lease epoch, orchestrator. */
function ids(opts: RunOptions): CallOptions {
  return {
    ...(opts.operationId ? { operationId: opts.operationId } : {}),
    ...(opts.phaseId ? { phaseId: opts.phaseId } : {}),
    ...(opts.epoch !== undefined ? { epoch: opts.epoch } : {}),
    ...(opts.holder ? { holder: opts.holder } : {}),
  };
}

/**
 * Names the steps of phase attempts: the n-th request with the same action and params in one
 * attempt on one node. A resumed attempt issues its requests in the same order, so each names
 * the step it named before and the node answers with that step's execution.
 */
class StepCounter {
  private readonly seen = new Map<string, number>();

  next(node: string, action: string, params: Record<string, unknown>, opts: RunOptions): string {
    const digest = createHash('sha256').update(JSON.stringify(params)).digest('hex').slice(0, 16);
    const key = JSON.stringify([node, opts.operationId, opts.phaseId, opts.attempt, action, digest]);
    const n = (this.seen.get(key) ?? 0) + 1;
    this.seen.set(key, n);
    return `${action}:${digest}:${n}`;
  }
}

/** Agents of one cluster, reached over SSH. */
export class ClusterAgents implements NodeAccess {
  private readonly clients = new Map<string, Promise<AgentClient>>();
  private readonly byName: Map<string, NodeSettings>;
  private readonly steps = new StepCounter();

  constructor(
    private readonly nodes: NodeSettings[],
    private readonly pool: SshPool,
    private readonly opts: { version: string; isLocal?: (node: NodeSettings) => boolean; log?: Logger } = { version: '0.0.0' },
  ) {
    this.byName = new Map(nodes.map((n) => [n.name, n]));
  }

  nodeNames(): string[] {
    return this.nodes.map((n) => n.name);
  }

  where(node: string | undefined): string {
    const settings = node ? this.byName.get(node) : undefined;
    if (!settings || this.opts.isLocal?.(settings)) return 'locally';
    return `on ${settings.name}`;
  }

  async hello(node: string): Promise<AgentInfo> {
    const settings = this.node(node);
    if (this.opts.isLocal?.(settings)) return { version: this.opts.version, hostname: settings.name, pid: process.pid };
    return (await this.client(settings)).hello();
  }

  async run<T = unknown>(node: string, action: string, params: Record<string, unknown> = {}, opts: RunOptions = {}): Promise<T> {
    const settings = this.node(node);
    if (this.opts.isLocal?.(settings)) return this.runLocally<T>(settings, action, params, opts);
    let execution: string | undefined;
    const call: CallOptions = {
      ...ids(opts),
      ...(opts.attempt ? { attempt: opts.attempt, step: this.steps.next(node, action, params, opts) } : {}),
      signal: opts.signal,
      onOutput: opts.onOutput,
      onLog: opts.onLog,
      onAccepted: (id: string) => {
        execution = id;
        opts.onAccepted?.(id, node);
      },
    };
    try {
      return await (await this.client(settings)).run<T>(action, params, call);
    } catch (err) {
      if (AgentError.isHoistError(err) && err.code === 'ERR_AGENT_ABORTED' && execution) {
        // Stopping the wait is not enough: the node work stops too, before the phase is recorded.
        await this.cancelExecution(settings, execution, opts);
        throw err;
      }
      if (!(AgentError.isHoistError(err) && err.code === 'ERR_AGENT_DISCONNECTED' && execution)) throw err;
      return this.reattach<T>(settings, execution, call, err);
    }
  }

  /** Where a recorded execution stands on its node. */
  async inspect(node: string, execution: string, opts: RunOptions = {}): Promise<ExecutionStanding> {
    try {
      return (await (await this.client(this.node(node))).inspect(execution, ids(opts))).state;
    } catch (err) {
      if (AgentError.isHoistError(err) && err.code === 'ERR_AGENT_UNKNOWN_EXECUTION') return 'unknown';
      throw err;
    }
  }

  /** Follows an execution to its end; its outcome is for the phase's replay to read, not thrown here. */
  async follow(node: string, execution: string, opts: RunOptions = {}): Promise<void> {
    const { signal, onOutput, onLog } = opts;
    await (await this.client(this.node(node)))
      .attach(execution, { ...ids(opts), ...(signal ? { signal } : {}), ...(onOutput ? { onOutput } : {}), ...(onLog ? { onLog } : {}) })
      .catch((err: unknown) => {
        if (AgentError.isHoistError(err) && err.code === 'ERR_AGENT_ABORTED') {
          return this.cancelExecution(this.node(node), execution, opts).then(() => Promise.reject(err));
        }
        if (!(AgentError.isHoistError(err) && err.exitCode === 6)) throw err;
      });
  }

  /** Cancels the live executions of the options' operation and phase on `node`; resolves once they ended. */
  async cancel(node: string, opts: RunOptions): Promise<string[]> {
    return (await this.client(this.node(node))).cancel(undefined, { ...ids(opts), signal: AbortSignal.timeout(CANCEL_WAIT_MS) });
  }

  /** Releases the node lease of the options' operation on every node that answers. */
  async release(opts: RunOptions): Promise<void> {
    await Promise.all(
      this.nodes
        .filter((n) => !this.opts.isLocal?.(n))
        .map(async (n) => {
          try {
            await (await this.client(n)).release(ids(opts));
          } catch (err) {
            this.opts.log?.debug({ err, node: n.name }, 'node lease not released');
          }
        }),
    );
  }

  private async cancelExecution(settings: NodeSettings, execution: string, opts: RunOptions): Promise<void> {
    this.opts.log?.warn(
      { event: 'agent.cancel', node: settings.name, execution, phase: opts.phaseId },
      `cancelling execution ${execution} on ${settings.name}`,
    );
    try {
      await (await this.client(settings)).cancel(execution, { ...ids(opts), signal: AbortSignal.timeout(CANCEL_WAIT_MS) });
    } catch (err) {
      this.opts.log?.error(
        { event: 'agent.cancel', node: settings.name, execution, err },
        `could not cancel execution ${execution} on ${settings.name}: ${(err as Error).message}`,
      );
    }
  }

  async reset(node: string): Promise<void> {
    const settings = this.node(node);
    const client = this.clients.get(settings.name);
    this.clients.delete(settings.name);
    (await client?.catch(() => undefined))?.close();
    await this.pool.get(settings.name).close();
  }

  /** Closes the agent connections (the SSH connections stay for reuse). */
  async disconnect(): Promise<void> {
    const clients = [...this.clients.values()];
    this.clients.clear();
    for (const c of clients) (await c.catch(() => undefined))?.close();
  }

  async close(): Promise<void> {
    await this.disconnect();
    await this.pool.closeAll();
  }

  /** Follows an execution whose connection dropped, on new connections, until it answers. */
  private async reattach<T>(settings: NodeSettings, execution: string, call: CallOptions, first: unknown): Promise<T> {
    let last: unknown = first;
    for (let attempt = 1; attempt <= REATTACH_ATTEMPTS; attempt++) {
      // One warning per lost connection; the retries are detail.
      this.opts.log?.[attempt === 1 ? 'warn' : 'debug'](
        { event: 'agent.reattach', node: settings.name, execution, attempt },
        `connection to ${settings.name} dropped; re-attaching to execution ${execution}`,
      );
      this.clients.delete(settings.name);
      await this.pool.get(settings.name).close();
      try {
        return await (await this.client(settings)).attach<T>(execution, call);
      } catch (err) {
        last = err;
        // A node that answers SSH but has no agent lost the execution with it: nothing to wait for.
        const retry =
          HoistError.isHoistError(err) && err.code !== 'ERR_AGENT_OFFLINE' && (err.code === 'ERR_AGENT_DISCONNECTED' || err.exitCode === 5);
        if (!retry || call.signal?.aborted) throw err;
        await new Promise((r) => setTimeout(r, 500 * attempt));
      }
    }
    throw last;
  }

  private node(name: string): NodeSettings {
    const settings = this.byName.get(name);
    if (!settings)
      throw new HoistError('ERR_NODE_UNKNOWN', `node "${name}" is not in the inventory`, ExitCode.invalidInput, {
        node: name,
        hint: `known nodes: ${this.nodeNames().join(', ')}`,
      });
    return settings;
  }

  private client(settings: NodeSettings): Promise<AgentClient> {
    let client = this.clients.get(settings.name);
    if (!client) {
      client = this.connect(settings);
      this.clients.set(settings.name, client);
      client.catch(() => {
        if (this.clients.get(settings.name) === client) this.clients.delete(settings.name);
      });
    }
    return client;
  }

  private async connect(settings: NodeSettings): Promise<AgentClient> {
    const { socket, runtime } = agentEndpoint(settings.nodeStateDir);
    let stream;
    try {
      stream = await this.pool.get(settings.name).openUnixSocket(socket, { sudo: true, runtime });
    } catch (err) {
      if (HoistError.isHoistError(err) && err.exitCode === 5 && err.code !== 'ERR_SSH_SOCKET_UNAVAILABLE') throw err;
      throw new UnreachableError('ERR_AGENT_OFFLINE', `no agent is running on node ${settings.name} (${settings.address})`, {
        node: settings.name,
        hint: 'deploy the agents with "hoist agent deploy" (or check "hoist agent status")',
        cause: err,
      });
    }
    const client = new AgentClient(stream, { node: settings.name });
    const info = await client.hello();
    if (info.version !== this.opts.version) {
      this.opts.log?.warn(
        { event: 'agent.version', node: settings.name, agent: info.version, orchestrator: this.opts.version },
        `agent on ${settings.name} runs version ${info.version}, this hoist is ${this.opts.version}`,
      );
    }
    return client;
  }

  /** The orchestrator's own host: the same actions, run in this process. */
  private runLocally<T>(settings: NodeSettings, name: string, params: Record<string, unknown>, opts: RunOptions): Promise<T> {
    return runActionLocally<T>(settings.nodeStateDir, name, params, { ...opts, version: this.opts.version });
  }
}
