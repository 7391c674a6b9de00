/**
 * Coded errors and the exit codes they map to. Core code throws these and never exits;
 * only `cli/main.ts` turns them into an exit code and a printed message.
 */

/** Documented exit codes (architecture §9). */
export const ExitCode = {
  ok: 0,
  unexpected: 1,
  usage: 2,
  invalidInput: 3,
  stateConflict: 4,
  unreachable: 5,
  phaseFailed: 6,
  internal: 70,
  interrupted: 130,
} as const;
export type ExitCodeValue = (typeof ExitCode)[keyof typeof ExitCode];

const BRAND = Symbol.for('hoist.HoistError');

/** Fields every coded error can carry beyond its message. */
export interface ErrorDetails {
  hint?: string;
  phase?: string;
  node?: string;
  /** Extra lines printed under the message (one problem per line). */
  details?: string[];
  cause?: unknown;
}

/** Base of every error hoist raises on purpose. */
export class HoistError extends Error {
  readonly [BRAND] = true;
  readonly code: string;
  readonly exitCode: ExitCodeValue;
  readonly hint?: string;
  readonly phase?: string;
  readonly node?: string;
  readonly details: string[];

  constructor(code: string, message: string, exitCode: ExitCodeValue, extra: ErrorDetails = {}) {
    super(message, extra.cause === undefined ? undefined : { cause: extra.cause });
    this.name = new.target.name;
    this.code = code;
    this.exitCode = exitCode;
    this.hint = extra.hint;
    this.phase = extra.phase;
    this.node = extra.node;
    this.details = extra.details ?? [];
  }

  /** True for any HoistError, even one created by another copy of this module. */
  static isHoistError(value: unknown): value is HoistError {
    return typeof value === 'object' && value !== null && BRAND in value;
  }

  /** Plain object for `--output json` and the operation log. */
  toJSON(): Record<string, unknown> {
    return {
      code: this.code,
      message: this.message,
      ...(this.hint ? { hint: this.hint } : {}),
      ...(this.phase ? { phase: this.phase } : {}),
      ...(this.node ? { node: this.node } : {}),
      ...(this.details.length ? { details: this.details } : {}),
    };
  }
}

/** Bad command line (exit 2). */
export class UsageError extends HoistError {
  constructor(code: string, message: string, extra?: ErrorDetails) {
    super(code, message, ExitCode.usage, extra);
  }
}

/** Invalid inventory, image or state file (exit 3). */
export class InputError extends HoistError {
  constructor(code: string, message: string, extra?: ErrorDetails) {
    super(code, message, ExitCode.invalidInput, extra);
  }
}

/** Lock held, phase not eligible, dependents applied, store corrupt (exit 4). */
export class StateError extends HoistError {
  constructor(code: string, message: string, extra?: ErrorDetails) {
    super(code, message, ExitCode.stateConflict, extra);
  }
}

/** Node unreachable, SSH auth or host-key failure (exit 5). */
export class UnreachableError extends HoistError {
  constructor(code: string, message: string, extra?: ErrorDetails) {
    super(code, message, ExitCode.unreachable, extra);
  }
}

/** A phase failed; the plan stays resumable (exit 6). */
export class PhaseFailedError extends HoistError {
  constructor(code: string, message: string, extra?: ErrorDetails) {
    super(code, message, ExitCode.phaseFailed, extra);
  }
}

/** The run was interrupted by a signal (exit 130). */
export class InterruptedError extends HoistError {
  constructor(message = 'interrupted', extra?: ErrorDetails) {
    super('ERR_INTERRUPTED', message, ExitCode.interrupted, extra);
  }
}

/** Turns anything thrown into a `{code, message}` pair for a phase record. */
export function toPhaseError(err: unknown): { code: string; message: string } {
  if (HoistError.isHoistError(err)) return { code: err.code, message: err.message };
  if (err instanceof Error) return { code: 'ERR_UNEXPECTED', message: err.message };
  return { code: 'ERR_UNEXPECTED', message: String(err) };
}
