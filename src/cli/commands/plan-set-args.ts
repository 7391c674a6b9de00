/**
 * `hoist plan set --state completed` shares its option name with the global `--state FILE`, and
 * commander gives every `--state` on the line to the global option, the last one winning. Which
 * one is which is decided here by where it stands: before `set` it is the state file (as for any
 * other command), after `set` the phase's new state, as in Gravity's `plan set`.
 */
import type { Command } from 'commander';
import { UsageError } from '../../errors.js';
import { printable } from '../../text.js';

/** The two meanings of `--state` on a `plan set` line. */
export interface PlanSetStates {
  /** The global state file (given before `set`). */
  file?: string;
  /** The phase's new state (given after `set`). */
  phase?: string;
}

/** Splits the `--state` options of `root`'s command line around the `set` subcommand. */
export function planSetStates(root: Command): PlanSetStates {
  // Commander keeps the argv it parsed as `rawArgs` (untyped, set by every parse since v2).
  const args = (root as Command & { rawArgs: string[] }).rawArgs.slice(2);
  const takesValue = new Set(
    [root, ...root.commands.filter((c) => c.name() === 'plan')]
      .flatMap((c) => c.options)
      .filter((o) => o.required || o.optional)
      .flatMap((o) => [o.short, o.long].filter((f): f is string => !!f)),
  );
  const before: string[] = [];
  const after: string[] = [];
  let operands = 0;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (arg === '--') break;
    const inline = /^--state=(.*)$/s.exec(arg);
    const value = inline ? inline[1] : arg === '--state' ? args[++i] : undefined;
    if (inline || arg === '--state') {
      if (value !== undefined) (operands >= 2 ? after : before).push(value);
      continue;
    }
    if (arg.startsWith('-')) {
      if (takesValue.has(arg) && operands < 2) i++;
      continue;
    }
    // The operands up to the subcommand: "plan", then "set".
    operands++;
  }
  if (before.length > 1 || after.length > 1) {
    const [where, values] = before.length > 1 ? ['before "set" (the state file)', before] : ['after "set" (the phase state)', after];
    throw new UsageError(
      'ERR_USAGE_STATE_TWICE',
      `--state is given ${values.length} times ${where}: ${values.map((v) => `"${printable(v, 80)}"`).join(', ')}`,
      {
        hint: 'hoist [--state FILE] plan set --phase P --state completed|failed|unstarted --reason TEXT',
      },
    );
  }
  return { ...(before[0] !== undefined ? { file: before[0] } : {}), ...(after[0] !== undefined ? { phase: after[0] } : {}) };
}
