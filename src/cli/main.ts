/**
 * The CLI entry: the only place that maps errors to exit codes and sets `process.exitCode`.
 * `main` takes injectable streams so tests run it in-process.
 */
import { CommanderError } from 'commander';
import { ExitCode, HoistError, InterruptedError } from '../errors.js';
import { hoistVersion } from '../version.js';
import type { CliIO } from './io.js';
import { buildProgram, type RunRecord } from './program.js';
import { errorDocument, renderError } from './render/error.js';

/**
 * Signals that stop a run the way Ctrl-C does: the same AbortSignal cancels the running phases,
 * they are recorded interrupted, the lease is released, and hoist exits 128 + the signal number.
 * A terminal that closes (SIGHUP) or a CI timeout / systemd stop (SIGTERM) must not leave a
 * phase "in progress" behind a lease that nobody renews.
 */
const STOP_SIGNALS = { SIGINT: 2, SIGTERM: 15, SIGHUP: 1 } as const;
type StopSignal = keyof typeof STOP_SIGNALS;

/** Runs hoist with `argv` (as process.argv: node, script, args…); returns the exit code. */
export async function main(argv: string[] = process.argv, partial?: Partial<CliIO>): Promise<number> {
  const controller = new AbortController();
  let received: StopSignal | undefined;
  const onSignal = (name: StopSignal): void => {
    if (received) {
      // A second signal means "now": nothing more is recorded, the lease expires on its own.
      process.stderr.write(`\n${name} again: exiting at once\n`);
      process.exit(128 + STOP_SIGNALS[name]);
    }
    received = name;
    process.stderr.write(
      `\n${name === 'SIGINT' ? 'Interrupted' : `Received ${name}`}: stopping running phases (they will be recorded as failed "interrupted")…\n`,
    );
    controller.abort();
  };
  const handlers = Object.keys(STOP_SIGNALS).map((name) => [name, () => onSignal(name as StopSignal)] as const);
  const ownProcess = !partial;
  // A reader that went away (`hoist … | head -1`) ends the run quietly, as SIGPIPE would.
  const onStdoutError = (err: NodeJS.ErrnoException): void => {
    if (err.code === 'EPIPE') process.exit(141);
    throw err;
  };
  if (ownProcess) {
    for (const [name, fn] of handlers) process.on(name, fn);
    process.stdout.on('error', onStdoutError);
  }
  const io: CliIO = {
    stdout: process.stdout,
    stderr: process.stderr,
    stdin: process.stdin,
    env: process.env,
    cwd: process.cwd(),
    interactive: !!process.stdin.isTTY,
    signal: controller.signal,
    ...partial,
  };
  const record: RunRecord = {};
  let code: number = ExitCode.ok;
  try {
    await buildProgram(io, hoistVersion(), record).parseAsync(argv);
  } catch (err) {
    // A Ctrl-C that came during synchronous work (a long parse) is only delivered once the event
    // loop turns: let it, so the error that work ended with does not hide the interruption.
    await pendingSignals();
    // Anything that ends a run after Ctrl-C (a cut-off read, a refused lock) is the interruption.
    const cause = io.signal.aborted && !(HoistError.isHoistError(err) && err.exitCode === ExitCode.phaseFailed) ? interrupted(err) : err;
    code = report(cause, io, record);
  } finally {
    await record.ctx?.close();
    if (ownProcess) for (const [name, fn] of handlers) process.off(name, fn);
  }
  // An interrupted run says which signal stopped it (130 SIGINT, 143 SIGTERM, 129 SIGHUP).
  if (received && code === ExitCode.interrupted) code = 128 + STOP_SIGNALS[received];
  if (ownProcess) process.exitCode = code;
  return code;
}

/** One full turn of the event loop, through its poll phase, where signals are delivered. */
async function pendingSignals(): Promise<void> {
  for (let i = 0; i < 2; i++) await new Promise((resolve) => setImmediate(resolve));
}

function interrupted(err: unknown): unknown {
  if (HoistError.isHoistError(err) && err.exitCode === ExitCode.interrupted) return err;
  return new InterruptedError('interrupted', { cause: err, hint: 'run the command again to continue' });
}

function report(err: unknown, io: CliIO, record: RunRecord): number {
  if (err instanceof CommanderError) {
    // Commander has printed its own message already.
    return err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.exitCode === 0 ? ExitCode.ok : ExitCode.usage;
  }
  const ctx = record.ctx;
  const logFile = ctx?.opLog;
  // stdout holds one JSON document: a command that already wrote its result reports the error on stderr only.
  if (ctx?.json && !ctx.wroteResult) io.stdout.write(`${JSON.stringify(errorDocument(err))}\n`);
  io.stderr.write(renderError(err, { debug: ctx?.globals.debug, logFile }));
  try {
    // The stack goes to the log only with --debug: with -o json the console gets log lines too.
    const logged = ctx?.globals.debug
      ? err
      : HoistError.isHoistError(err)
        ? err.toJSON()
        : { message: String((err as Error)?.message ?? err) };
    ctx?.logger.error({ event: 'cli.error', err: logged }, err instanceof Error ? err.message : String(err));
  } catch {
    // Logging must never hide the error itself.
  }
  return HoistError.isHoistError(err) ? err.exitCode : ExitCode.unexpected;
}
