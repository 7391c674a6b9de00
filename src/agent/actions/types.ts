/**
 * The contract of a node-side action. The agent runs only actions of the closed registry in
 * `index.ts`; each one validates its own params with zod before anything is executed.
 */
import type { z } from 'zod';
import type { LogLevel, OutputStream } from '../protocol.js';

/** What an action gets for one execution. */
export interface ActionContext {
  /** The node's hoist state directory (`--state-dir` of the agent). */
  stateDir: string;
  /** Version of the running agent. */
  version: string;
  operationId: string;
  phaseId: string;
  executionId: string;
  /** Aborted when the agent shuts down; actions stop promptly and throw. */
  signal: AbortSignal;
  /** Streams output to every attached client and records it. */
  output(stream: OutputStream, data: string): void;
  /** Streams a log line to every attached client, records it and writes it to the agent log. */
  log(level: LogLevel, message: string): void;
}

/**
 * `ctx` for an action run inside another whose output is data, not the caller's stream: the
 * inner action's output is collected (`text()`) and its log lines dropped.
 */
export function capturing(ctx: ActionContext): { ctx: ActionContext; text: () => string } {
  let text = '';
  const quiet: ActionContext = {
    ...ctx,
    output: (_stream, data) => {
      text += data;
    },
    log: () => undefined,
  };
  return { ctx: quiet, text: () => text };
}

/** One named action with its params schema. */
export interface Action<R = unknown> {
  readonly name: string;
  /** One line for `hoist agent status` and error messages. */
  readonly description: string;
  readonly params: z.ZodType;
  /** Runs with params already validated by `params`. */
  run(ctx: ActionContext, params: unknown): Promise<R>;
}

/** Builds an action whose `run` sees its params typed by the schema. */
export function defineAction<S extends z.ZodType, R>(def: {
  name: string;
  description: string;
  params: S;
  run(ctx: ActionContext, params: z.output<S>): Promise<R>;
}): Action<R> {
  return {
    name: def.name,
    description: def.description,
    params: def.params,
    // The server parses params with `def.params` before it accepts a request.
    run: (ctx, params) => def.run(ctx, params as z.output<S>),
  };
}
