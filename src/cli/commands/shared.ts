/** Small helpers shared by command modules. */
import type { Command } from 'commander';
import { UsageError } from '../../errors.js';
import type { Context } from '../context.js';

/** Runs a command body with its context; wired by program.ts. */
export type Action = (cmd: Command, body: (ctx: Context) => Promise<void>) => Promise<void>;

/** A positive integer option or a usage error naming the flag. */
export function parseCount(flag: string, value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) {
    throw new UsageError('ERR_USAGE_BAD_NUMBER', `${flag} must be a positive whole number, got "${value}"`, { hint: `for example ${flag} 2` });
  }
  return n;
}
