/**
 * The root pino logger: always a debug-level ndjson file per operation when one is known, and the
 * console on stderr (human lines, or raw pino lines with --output json). Sync writes so nothing
 * is lost when the CLI returns its exit code.
 */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { Writable } from 'node:stream';
import pino, { type Logger } from 'pino';

/** Console sink options. */
export interface LoggerOptions {
  /** Where console lines go (stderr in the CLI). */
  console: NodeJS.WritableStream;
  /** Console level: warn by default, debug with --debug. */
  level: pino.Level | 'silent';
  /** Raw ndjson on the console instead of human lines. */
  json?: boolean;
}

const REDACT = ['password', 'privateKey', 'passphrase', 'token', '*.password', '*.privateKey', '*.passphrase', '*.token', 'env'];

/** Failures the CLI prints itself as `error[CODE]: …`; echoing them as log lines would say it twice. */
const RENDERED_ELSEWHERE = new Set(['phase.fail', 'cli.error']);

/** Renders pino ndjson as `warn: message` lines for people. */
function humanStream(out: NodeJS.WritableStream): Writable {
  return new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const line of chunk.toString('utf8').split('\n')) {
        if (!line) continue;
        try {
          const rec = JSON.parse(line) as { level: number; msg?: string; node?: string; event?: string };
          if (rec.event && RENDERED_ELSEWHERE.has(rec.event)) continue;
          const label = pino.levels.labels[rec.level] ?? 'log';
          out.write(`${label}: ${rec.node ? `${rec.node}: ` : ''}${rec.msg ?? ''}\n`);
        } catch {
          out.write(`${line}\n`);
        }
      }
      done();
    },
  });
}

/** Console-only logger; `withFile` adds the per-operation debug file. */
export function createLogger(opts: LoggerOptions, file?: string): Logger {
  const streams: pino.StreamEntry[] = [];
  if (opts.level !== 'silent') {
    streams.push({ level: opts.level, stream: opts.json ? opts.console : humanStream(opts.console) });
  }
  if (file) {
    mkdirSync(dirname(file), { recursive: true });
    streams.push({ level: 'debug', stream: pino.destination({ dest: file, sync: true, append: true }) });
  }
  if (streams.length === 0) return pino({ level: 'silent' });
  return pino({ level: 'debug', redact: REDACT, base: { pid: process.pid } }, pino.multistream(streams));
}
