/**
 * The events stream of a run (`--events FILE|-`, `-o ndjson`): one JSON object per line, written
 * synchronously so that a run killed half-way leaves every event it emitted. Its schema is
 * src/fsm/run-events.ts, published as docs/events.schema.json. With `-` (or -o ndjson) stdout
 * holds the events only: the result a command would print is in its `operation.finished`.
 */
import { closeSync, openSync, writeSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { ExitCode, HoistError, InputError, UsageError } from '../../errors.js';
import { type EventSink, eventError, type NewRunEvent } from '../../fsm/run-events.js';
import type { Context } from '../context.js';
import type { Globals } from '../io.js';

const EVENTS_FLAG = '--events';

/** Adds `--events FILE|-` to a command that streams events. */
export function withEventsOption(cmd: Command): Command {
  return cmd.option(
    `${EVENTS_FLAG} <file>`,
    'also write one JSON event per line to FILE ("-": stdout, like -o ndjson): see docs/events.schema.json',
  );
}

/** `-o ndjson` only where events are streamed; checked before the command does anything. */
export function checkNdjsonOutput(cmd: Command, globals: Globals): void {
  if (globals.output !== 'ndjson') return;
  for (let c: Command | null = cmd; c; c = c.parent) if (c.options.some((o) => o.long === EVENTS_FLAG)) return;
  throw new UsageError('ERR_USAGE_NDJSON', `-o ndjson streams events, which "${cmd.name()}" does not emit`, {
    hint: 'use -o ndjson with upgrade, plan execute|resume|rollback, plan --tail or rollback; -o json gives one result document',
  });
}

/** The events destination asked for: a file, `-` for stdout, or none. */
export function eventsTarget(ctx: Context): string | undefined {
  const file = (ctx.globals as Globals & { events?: string }).events;
  if (file === '-' && ctx.globals.output !== 'text' && ctx.globals.output !== 'ndjson') {
    throw new UsageError('ERR_USAGE_NDJSON', `--events - puts the events on stdout, where -o ${ctx.globals.output} wants its result`, {
      hint: 'write the events to a file (--events FILE), or drop -o',
    });
  }
  if (file !== undefined) return file;
  return ctx.globals.output === 'ndjson' ? '-' : undefined;
}

/** Refuses --events / -o ndjson on a subcommand that has no events (plan complete, plan cancel, plan display). */
export function refuseEvents(ctx: Context, what: string): void {
  if (eventsTarget(ctx) === undefined) return;
  throw new UsageError('ERR_USAGE_NDJSON', `"${what}" emits no events: --events and -o ndjson are for runs of phases`, {
    hint: 'use them with upgrade, plan execute|resume|rollback, plan --tail or rollback',
  });
}

/** Writes events as ndjson lines and remembers the operation the run drives. */
class EventWriter implements EventSink {
  operation?: { cluster: string; id: string };

  constructor(private readonly write: (line: string) => void) {}

  emit(event: NewRunEvent): void {
    if (event.type === 'operation.started') this.operation = { cluster: event.cluster, id: event.operation };
    // `type` and `at` first: a person reading the stream scans them.
    const { type, at, ...rest } = event;
    this.write(`${JSON.stringify({ type, at: at ?? new Date().toISOString(), ...rest })}\n`);
  }
}

/**
 * Runs `body` with the events stream attached to the context, then writes `operation.finished`
 * with the outcome (the error, if any, is rethrown for main to report and map to the exit code).
 */
export async function withEvents(ctx: Context, body: () => Promise<void>): Promise<void> {
  const target = eventsTarget(ctx);
  if (target === undefined) return body();
  const { writer, close } = openTarget(ctx, target);
  ctx.events = writer;
  let failure: unknown;
  try {
    await body();
  } catch (err) {
    failure = err;
  }
  try {
    writer.emit(await finished(ctx, writer, failure));
  } finally {
    close();
  }
  if (failure !== undefined) throw failure;
}

function openTarget(ctx: Context, target: string): { writer: EventWriter; close: () => void } {
  if (target === '-') {
    ctx.eventsOnStdout = true;
    return { writer: new EventWriter((line) => ctx.io.stdout.write(line)), close: () => undefined };
  }
  const path = resolve(ctx.io.cwd, target);
  let fd: number;
  try {
    fd = openSync(path, 'w');
  } catch (err) {
    throw new InputError('ERR_EVENTS_FILE', `cannot write the events file ${path}: ${(err as Error).message}`, {
      hint: 'give a writable file path to --events, or "-" for stdout',
    });
  }
  return { writer: new EventWriter((line) => writeSync(fd, line)), close: () => closeSync(fd) };
}

async function finished(ctx: Context, writer: EventWriter, failure: unknown): Promise<NewRunEvent> {
  const exitCode: number = failure === undefined ? ExitCode.ok : HoistError.isHoistError(failure) ? failure.exitCode : ExitCode.unexpected;
  // As main reports it: anything that ends a run after Ctrl-C, but a failed phase, is the interruption.
  const interrupted =
    failure !== undefined && (exitCode === ExitCode.interrupted || (ctx.io.signal.aborted && exitCode !== ExitCode.phaseFailed));
  const op = writer.operation;
  let operationState: 'in_progress' | 'completed' | 'failed' | undefined;
  if (op) {
    try {
      operationState = (await ctx.store().getOperation(op.cluster, op.id)).state;
    } catch {
      // The store is what failed (unreachable etcd, say): the event says what it can.
    }
  }
  return {
    type: 'operation.finished',
    ...(op ? { operation: op.id } : {}),
    command: ctx.command,
    outcome: failure === undefined ? 'ok' : interrupted ? 'interrupted' : 'failed',
    exitCode: interrupted ? ExitCode.interrupted : exitCode,
    ...(operationState ? { operationState } : {}),
    ...(failure !== undefined ? { error: eventError(failure) } : {}),
  };
}
