/**
 * The last lines of a failed phase's node work, shown under its error and in `hoist plan`
 * (Gravity pointed at logs; an operator at 3 a.m. needs the lines themselves).
 */
import { HoistError } from '../errors.js';

/** Lines kept of a failed phase's output. */
export const OUTPUT_TAIL_LINES = 20;

/** The last lines of chunked output (chunks need not end at line breaks). */
export class OutputTail {
  private lines: string[] = [];
  private partial = '';

  push(chunk: string): void {
    const parts = (this.partial + chunk).split('\n');
    this.partial = parts.pop() ?? '';
    for (const line of parts) if (line.trim()) this.lines.push(line.replace(/\r$/, ''));
    if (this.lines.length > OUTPUT_TAIL_LINES * 2) this.lines = this.lines.slice(-OUTPUT_TAIL_LINES);
  }

  last(): string[] {
    const all = this.partial.trim() ? [...this.lines, this.partial] : this.lines;
    return all.slice(-OUTPUT_TAIL_LINES);
  }
}

/**
 * What to show of a failure: the error's own details when it has some (a hook Job's log lines),
 * else the phase's captured output.
 */
export function failureOutput(err: unknown, tail: OutputTail): string[] {
  if (HoistError.isHoistError(err) && err.details.length) return err.details.slice(-OUTPUT_TAIL_LINES);
  return tail.last();
}
