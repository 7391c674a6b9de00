/**
 * The CLI entry: the only place that maps errors to exit codes and sets `process.exitCode`.
 * `main` takes injectable streams so tests run it in-process.
 */
import { CommanderError } from 'commander';
import { ExitCode, HoistError } from '../errors.js';
import { hoistVersion } from '../version.js';
import type { CliIO } from './io.js';
import { buildProgram, type RunRecord } from './program.js';
import { errorDocument, renderError } from './render/error.js';

/** Runs hoist with `argv` (as process.argv: node, script, args…); returns the exit code. */
export async function main(argv: string[] = process.argv, partial?: Partial<CliIO>): Promise<number> {
  const controller = new AbortController();
  const onSigint = (): void => {
    if (controller.signal.aborted) return;
    process.stderr.write('\nInterrupted: stopping running phases (they will be recorded as failed "interrupted")…\n');
    controller.abort();
  };
  const ownProcess = !partial;
  if (ownProcess) process.on('SIGINT', onSigint);
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
    code = report(err, io, record);
  } finally {
    if (ownProcess) process.off('SIGINT', onSigint);
    await record.ctx?.close();
  }
  if (ownProcess) process.exitCode = code;
  return code;
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
    ctx?.logger.error({ event: 'cli.error', err }, err instanceof Error ? err.message : String(err));
  } catch {
    // Logging must never hide the error itself.
  }
  return HoistError.isHoistError(err) ? err.exitCode : ExitCode.unexpected;
}
