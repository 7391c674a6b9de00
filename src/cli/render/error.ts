/** Errors for people (`error[CODE]: message`, details, `hint:`, log file) or as one JSON object. */
import { HoistError } from '../../errors.js';
import { printable } from '../../text.js';

// Long enough for any message hoist writes, short enough that no echoed input floods the terminal.
const MAX_LINE = 2000;
const MAX_DETAILS = 60;

const line = (text: string): string => printable(text, MAX_LINE);

/** Detail lines, each printable, at most MAX_DETAILS of them. */
function detailLines(details: readonly string[]): string[] {
  const shown = details.slice(0, MAX_DETAILS).map(line);
  if (details.length > MAX_DETAILS) shown.push(`… and ${details.length - MAX_DETAILS} more`);
  return shown;
}

/** Human rendering; the stack only with --debug. */
export function renderError(err: unknown, opts: { debug?: boolean; logFile?: string } = {}): string {
  const lines: string[] = [];
  if (HoistError.isHoistError(err)) {
    lines.push(`error[${err.code}]: ${line(err.message)}`);
    lines.push(...detailLines(err.details));
    if (err.hint) lines.push(`hint: ${line(err.hint)}`);
  } else {
    const e = err instanceof Error ? err : new Error(String(err));
    lines.push(`error[ERR_UNEXPECTED]: ${line(e.message)}`);
    lines.push('hint: this is a bug in hoist; rerun with --debug and report the output');
  }
  if (opts.logFile) lines.push(`log: ${opts.logFile}`);
  if (opts.debug && err instanceof Error && err.stack) lines.push(err.stack);
  return `${lines.join('\n')}\n`;
}

/** `{error: {code, message, hint, phase, node}}` for --output json. */
export function errorDocument(err: unknown): Record<string, unknown> {
  if (HoistError.isHoistError(err)) {
    const doc = err.toJSON();
    doc.message = line(err.message);
    if (err.hint) doc.hint = line(err.hint);
    if (err.details.length > 0) doc.details = detailLines(err.details);
    return { error: doc };
  }
  return { error: { code: 'ERR_UNEXPECTED', message: line(err instanceof Error ? err.message : String(err)) } };
}
