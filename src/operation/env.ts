/**
 * What a workflow needs from its caller. The CLI's per-command context provides it; a workflow
 * never reads argv, never writes stdout and never sets an exit code.
 */
import type { Logger } from 'pino';
import type { ClusterAgents } from '../cluster/agents.js';
import type { NodeSettings } from '../cluster/inventory.js';
import type { ProgressSink } from '../fsm/progress.js';
import type { EventSink } from '../fsm/run-events.js';
import type { SshPool } from '../ssh/pool.js';
import type { Lease, LeaseRequest, OperationRecord, Store } from '../store/store.js';

/** Live access to the nodes of the cluster. */
export interface LiveCluster {
  nodes: NodeSettings[];
  pool: SshPool;
  agents: ClusterAgents;
}

/** The services a workflow runs with. */
export interface OperationEnv {
  store(): Store;
  /** Changes once the operation's debug log is attached; read it at the time of use. */
  readonly logger: Logger;
  readonly progress: ProgressSink;
  /** The run's events stream (--events, -o ndjson), if one was asked for. */
  readonly events?: EventSink;
  /** Aborted on Ctrl-C. */
  readonly signal: AbortSignal;
  /** Planning from a state file (--state): nothing may touch a node. */
  readonly offline: boolean;
  /** --drain-timeout, if given. */
  readonly drainTimeoutMs: number | undefined;
  /** False with HOIST_KUBE_PROXY=off: every Kubernetes step runs kubectl (no kubectl proxy). */
  readonly kubeProxy: boolean;
  clusterName(): Promise<string>;
  /** SSH pool and agents, opened once and closed with the command. */
  connect(): Promise<LiveCluster>;
  /** Runs `fn` holding the cluster lease; every store write inside is fenced with it. */
  withLock<T>(cluster: string, fn: (lease: Lease) => Promise<T>, request?: LeaseRequest): Promise<T>;
  /** The lease taken by the enclosing `withLock`. */
  heldLease(): Lease;
  /** Sends the debug log to the operation's log file from now on. */
  useOperationLog(op: { cluster: string; id: string }): void;
  /** Runs `fn` when the command ends, whatever the outcome. */
  onClose(fn: () => Promise<void>): void;
  /** The command line's verb (`upgrade`, `plan resume`), as history entries name it. */
  readonly command: string;
  /** Who is creating an operation. */
  creator(): OperationRecord['createdBy'];
  /** A per-node result line for a human reader (agent deployed, shut down); silent for machine output. */
  nodeResult(text: string): void;
}

/** Tells the events stream which operation this run drives (its first event). */
export function operationStarted(env: Pick<OperationEnv, 'events' | 'command'>, op: OperationRecord, created: boolean): void {
  env.events?.emit({
    type: 'operation.started',
    operation: op.id,
    cluster: op.cluster,
    from: op.from,
    to: op.to,
    mode: op.mode,
    command: env.command,
    created,
  });
}
