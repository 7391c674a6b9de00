/**
 * How executors reach nodes: by name, through each node's agent. Executors never touch SSH or
 * the file system themselves (architecture §2); they ask a NodeAccess to run a named agent action.
 */
import type { AgentInfo } from '../agent/client.js';
import type { LogLevel, OutputStream } from '../agent/protocol.js';

/** Options of one remote action. */
export interface RunOptions {
  operationId?: string;
  phaseId?: string;
  /** Phase attempt (one execution per step on the node), lease epoch and orchestrator identity. */
  attempt?: string;
  epoch?: number;
  holder?: { host: string; pid: number };
  signal?: AbortSignal;
  /** `node` accepted the request as execution `id` (recorded so a resume can re-attach). */
  onAccepted?(id: string, node: string): void;
  onOutput?(stream: OutputStream, data: string): void;
  onLog?(level: LogLevel, message: string): void;
}

/** Runs agent actions on cluster nodes. */
export interface NodeAccess {
  /** Runs `action` on `node` and resolves with its result; a failed action throws its coded error. */
  run<T = unknown>(node: string, action: string, params?: Record<string, unknown>, opts?: RunOptions): Promise<T>;
  /** Who answers on the node (agent version, hostname). */
  hello(node: string): Promise<AgentInfo>;
  /** "locally" or "on node-2", for progress lines. */
  where(node: string | undefined): string;
  /** Forgets the node's connections and a failed connect, so the next action connects afresh (after a reboot). */
  reset(node: string): Promise<void>;
  /** Every node name, inventory order. */
  nodeNames(): string[];
  close(): Promise<void>;
}
