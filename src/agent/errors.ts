/**
 * Errors of the agent protocol and its actions. An error crosses the wire as `{code, message,
 * hint}`; the client rebuilds an AgentError from it with the exit code its code implies, and
 * keeps the execution id so that a caller can re-attach after ERR_AGENT_DISCONNECTED.
 */
import { type ErrorDetails, ExitCode, type ExitCodeValue, HoistError } from '../errors.js';
import type { WireError } from './protocol.js';

/** Extra fields of an agent error. */
export interface AgentErrorDetails extends ErrorDetails {
  /** The execution the error belongs to, when the agent had accepted the request. */
  execution?: string;
}

/** An error reported by, or about talking to, a hoist agent. */
export class AgentError extends HoistError {
  readonly execution?: string;

  constructor(code: string, message: string, exitCode: ExitCodeValue, extra: AgentErrorDetails = {}) {
    super(code, message, exitCode, extra);
    this.execution = extra.execution;
  }

  override toJSON(): Record<string, unknown> {
    return { ...super.toJSON(), ...(this.execution ? { execution: this.execution } : {}) };
  }
}

/** Exit code for an error code that came over the wire. */
function exitCodeFor(code: string): ExitCodeValue {
  switch (code) {
    case 'ERR_AGENT_DISCONNECTED':
      return ExitCode.unreachable;
    case 'ERR_AGENT_PROTOCOL':
    case 'ERR_AGENT_LEASE_HELD':
    case 'ERR_AGENT_LEASE_STALE':
    case 'ERR_AGENT_PHASE_BUSY':
    case 'ERR_AGENT_BUSY':
      return ExitCode.stateConflict;
    case 'ERR_AGENT_BAD_MESSAGE':
      return ExitCode.internal;
    default:
      return ExitCode.phaseFailed;
  }
}

/** Rebuilds an error received from the agent. */
export function fromWireError(wire: WireError, extra: AgentErrorDetails = {}): AgentError {
  return new AgentError(wire.code, wire.message, exitCodeFor(wire.code), {
    ...extra,
    ...(wire.hint ? { hint: wire.hint } : {}),
    ...(wire.details ? { details: wire.details } : {}),
  });
}

/** The wire form of anything an action threw; only HoistErrors keep their code and hint. */
export function toWireError(err: unknown): WireError {
  if (HoistError.isHoistError(err)) {
    return {
      code: err.code,
      message: err.message,
      ...(err.hint ? { hint: err.hint } : {}),
      ...(err.details.length ? { details: err.details } : {}),
    };
  }
  const message = err instanceof Error ? err.message : String(err);
  return { code: 'ERR_AGENT_ACTION_CRASHED', message, hint: 'see the agent log on the node for the stack trace' };
}

/** An action failure on the node (reported to the orchestrator as a failed result). */
export function actionError(code: string, message: string, hint?: string): AgentError {
  return new AgentError(code, message, ExitCode.phaseFailed, hint ? { hint } : {});
}
