/**
 * Runs an agent action in this process against a node state dir: how the orchestrator drives its
 * own host ("Executing … locally") and how the sandbox installer sets nodes up before any agent
 * runs. Same validation and code as through an agent; no execution record.
 */
import { randomUUID } from 'node:crypto';
import { ExitCode, HoistError } from '../../errors.js';
import type { LogLevel, OutputStream } from '../protocol.js';
import { findAction } from './index.js';

/** Options of a local action run. */
export interface LocalRunOptions {
  version: string;
  operationId?: string;
  phaseId?: string;
  signal?: AbortSignal;
  onOutput?(stream: OutputStream, data: string): void;
  onLog?(level: LogLevel, message: string): void;
}

/** Runs action `name` with `params` on the node whose state dir is `stateDir`. */
export async function runActionLocally<T = unknown>(
  stateDir: string,
  name: string,
  params: Record<string, unknown>,
  opts: LocalRunOptions,
): Promise<T> {
  const action = findAction(name);
  if (!action) throw new HoistError('ERR_AGENT_UNKNOWN_ACTION', `unknown node action "${name}"`, ExitCode.internal);
  const parsed = action.params.safeParse(params);
  if (!parsed.success)
    throw new HoistError('ERR_AGENT_BAD_PARAMS', `invalid params for ${name}: ${parsed.error.message}`, ExitCode.internal);
  return (await action.run(
    {
      stateDir,
      version: opts.version,
      operationId: opts.operationId ?? '',
      phaseId: opts.phaseId ?? '',
      executionId: randomUUID(),
      signal: opts.signal ?? new AbortController().signal,
      output: (stream, data) => opts.onOutput?.(stream, data),
      log: (level, message) => opts.onLog?.(level, message),
    },
    parsed.data,
  )) as T;
}
