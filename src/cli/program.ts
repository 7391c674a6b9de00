/** Commander wiring: global options, the commands, and the context each command gets. */
import { Command, Option } from 'commander';
import { UsageError } from '../errors.js';
import { SAFE_NAME } from '../store/schema.js';
import { printable } from '../text.js';
import { registerAgent } from './commands/agent.js';
import { registerCompletion } from './commands/completion.js';
import { checkNdjsonOutput } from './commands/events.js';
import { registerImage } from './commands/image.js';
import { registerOperation } from './commands/operation.js';
import { registerPackage } from './commands/package.js';
import { registerPlan } from './commands/plan.js';
import { registerReport } from './commands/report.js';
import { registerRollback } from './commands/rollback.js';
import { registerSandbox } from './commands/sandbox.js';
import { type Action, parseDuration } from './commands/shared.js';
import { registerStatus } from './commands/status.js';
import { registerStore } from './commands/store.js';
import { registerUpgrade } from './commands/upgrade.js';
import { Context } from './context.js';
import type { CliIO, Globals } from './io.js';

/** Holds the context of the command that ran, so main can point at its log file on errors. */
export interface RunRecord {
  ctx?: Context;
}

/** Builds the `hoist` program bound to `io`. */
export function buildProgram(io: CliIO, version: string, record: RunRecord): Command {
  const program = new Command('hoist')
    .description('Cluster upgrade orchestrator: plans, executes and rolls back upgrades phase by phase')
    .version(version, '--version', 'print the hoist version')
    .option('-c, --cluster <file>', 'cluster inventory', 'cluster.yaml')
    .option('--state-dir <dir>', 'where operations are stored (default $HOIST_STATE_DIR or ~/.local/state/hoist)')
    .option(
      '--store <url>',
      'operation store: etcd://host:port[,host:port…], or json (default: inventory spec.store, else the state directory)',
    )
    .option('--state <file>', 'offline cluster state: plan without contacting any node')
    .option('--debug', 'verbose logs on stderr and stack traces on errors')
    .option('--drain-timeout <duration>', 'bound of each node drain, e.g. 30m (default 1h)')
    .option('--accept-new-host-keys', 'record the host keys of nodes not yet in known_hosts (a changed key is always refused)')
    .addOption(
      new Option('-o, --output <format>', 'result format on stdout').choices(['text', 'short', 'json', 'yaml', 'ndjson']).default('text'),
    )
    .option('--no-color', 'plain output (also NO_COLOR)')
    .showHelpAfterError()
    .exitOverride()
    .configureOutput({
      writeOut: (s) => io.stdout.write(s),
      writeErr: (s) => io.stderr.write(s),
    });

  const run: Action = async (cmd, body) => {
    const globals = cmd.optsWithGlobals() as Globals & { color?: boolean };
    if (io.env.NO_COLOR) globals.color = false;
    const line = ['hoist', ...(cmd.parent && cmd.parent.name() !== 'hoist' ? [cmd.parent.name()] : []), cmd.name(), ...cmd.args].join(' ');
    const ctx = new Context(io, globals, line);
    record.ctx = ctx;
    checkGlobals(globals, program.getOptionValueSource('cluster'));
    checkNdjsonOutput(cmd, globals);
    await body(ctx);
  };

  registerUpgrade(program, run);
  registerPlan(program, run);
  registerRollback(program, run);
  registerStatus(program, run);
  registerOperation(program, run);
  registerAgent(program, run);
  registerSandbox(program, run);
  registerImage(program, run);
  registerPackage(program, run);
  registerReport(program, run);
  registerStore(program, run);
  registerCompletion(program, run);
  for (const cmd of program.commands) inheritOutput(cmd, program);
  return program;
}

/** Subcommands report usage errors through the same streams and exit path as the root. */
function inheritOutput(cmd: Command, root: Command): void {
  cmd.exitOverride().showHelpAfterError().configureOutput(root.configureOutput());
  for (const sub of cmd.commands) inheritOutput(sub, root);
}

/**
 * Global options checked before any command body runs, so that none is found bad after the lease
 * is taken, agents are deployed or a log line is written.
 */
function checkGlobals(globals: Globals, clusterSource: string | undefined): void {
  if (globals.drainTimeout !== undefined) parseDuration('--drain-timeout', globals.drainTimeout);
  if (globals.operationId !== undefined && !SAFE_NAME.test(globals.operationId)) {
    throw new UsageError('ERR_USAGE_OPERATION_ID', `--operation-id "${printable(globals.operationId, 80)}" is not an operation id`, {
      hint: 'operation ids are letters, digits, ".", "_" and "-"; see "hoist status" for the ids',
    });
  }
  // The state file names its own inventory: a second one from -c would be silently ignored.
  if (globals.state !== undefined && clusterSource === 'cli') {
    throw new UsageError(
      'ERR_USAGE_STATE_AND_CLUSTER',
      '-c/--cluster cannot be combined with --state: the state file names its inventory',
      {
        hint: 'drop -c, or drop --state to read the cluster live through the inventory',
      },
    );
  }
}
