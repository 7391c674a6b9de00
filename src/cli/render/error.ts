/** Errors for people (`error[CODE]: message`, details, `hint:`, log file) or as one JSON object. */
import { HoistError } from '../../errors.js';

/** Human rendering; the stack only with --debug. */
export function renderError(err: unknown, opts: { debug?: boolean; logFile?: string } = {}): string {
  const lines: string[] = [];
  if (HoistError.isHoistError(err)) {
    lines.push(`error[${err.code}]: ${err.message}`);
    lines.push(...err.details);
    if (err.hint) lines.push(`hint: ${err.hint}`);
  } else {
    const e = err instanceof Error ? err : new Error(String(err));
    lines.push(`error[ERR_UNEXPECTED]: ${e.message}`);
    lines.push('hint: this is a bug in hoist; rerun with --debug and report the output');
  }
  if (opts.logFile) lines.push(`log: ${opts.logFile}`);
  if (opts.debug && err instanceof Error && err.stack) lines.push(err.stack);
  return `${lines.join('\n')}\n`;
}

/** `{error: {code, message, hint, phase, node}}` for --output json. */
export function errorDocument(err: unknown): Record<string, unknown> {
  if (HoistError.isHoistError(err)) return { error: err.toJSON() };
  return { error: { code: 'ERR_UNEXPECTED', message: err instanceof Error ? err.message : String(err) } };
}
