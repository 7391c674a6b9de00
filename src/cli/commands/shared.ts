/** Small helpers shared by command modules. */
import type { Command } from 'commander';
import { UsageError } from '../../errors.js';
import type { Context } from '../context.js';

/** Runs a command body with its context; wired by program.ts. */
export type Action = (cmd: Command, body: (ctx: Context) => Promise<void>) => Promise<void>;

/** A positive integer option or a usage error naming the flag. */
export function parseCount(flag: string, value: string): number {
  // Plain decimal digits only: Number() would also take 0x10, 1e3 or " 2 ".
  const n = /^\d+$/.test(value) ? Number(value) : Number.NaN;
  if (!Number.isSafeInteger(n) || n < 1) {
    throw new UsageError('ERR_USAGE_BAD_NUMBER', `${flag} must be a positive whole number, got "${value}"`, {
      hint: `for example ${flag} 2`,
    });
  }
  return n;
}

/** A positive count, or a percentage from 1% to 100% kept as written; a usage error names the flag. */
export function parseCountOrPercent(flag: string, value: string): number | string {
  const percent = value.endsWith('%');
  const digits = percent ? value.slice(0, -1) : value;
  const n = /^\d+$/.test(digits) ? Number(digits) : Number.NaN;
  // One message for both forms: a value that is neither names both, not only counts.
  if (!percent && Number.isSafeInteger(n) && n >= 1) return n;
  if (!percent || !(n >= 1 && n <= 100)) {
    throw new UsageError(
      'ERR_USAGE_BAD_NUMBER',
      `${flag} must be a positive whole number or a percentage from 1% to 100%, got "${value}"`,
      {
        hint: `for example ${flag} 2 or ${flag} 25%`,
      },
    );
  }
  return value;
}

/** A duration like `90s`, `30m`, `1h` or plain seconds, in milliseconds; a usage error names the flag. */
export function parseDuration(flag: string, value: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(value.trim());
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 } as const;
  if (!m || Number(m[1]) <= 0) {
    throw new UsageError('ERR_USAGE_BAD_DURATION', `${flag} must be a duration like 90s, 30m or 1h, got "${value}"`, {
      hint: `for example ${flag} 30m`,
    });
  }
  return Math.round(Number(m[1]) * unit[(m[2] ?? 's') as keyof typeof unit]);
}
