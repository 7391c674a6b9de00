/**
 * Line framing shared by the agent and its client: splits a byte stream into lines with a hard
 * size cap, and turns one line into a validated message or a wire error saying what was wrong.
 * Neither end ever trusts a line it has not validated.
 */
import type { z } from 'zod';
import { describeIssues, PROTOCOL_VERSION, type WireError } from './protocol.js';

const EMPTY = Buffer.alloc(0);
const NEWLINE = 0x0a;

/**
 * Splits chunks into lines. A line longer than `maxBytes` is reported once through `onOversize`
 * and skipped up to its newline, so one bad line never takes the stream down with it.
 */
export class LineSplitter {
  private pending: Buffer = EMPTY;
  private discarding = false;

  constructor(
    private readonly maxBytes: number,
    private readonly onLine: (line: string) => void,
    private readonly onOversize: () => void,
  ) {}

  /** Feeds one chunk; calls back for every complete line it holds. */
  push(chunk: Buffer): void {
    let start = 0;
    for (let nl = chunk.indexOf(NEWLINE, start); nl !== -1; nl = chunk.indexOf(NEWLINE, start)) {
      const piece = chunk.subarray(start, nl);
      start = nl + 1;
      if (this.discarding) {
        this.discarding = false;
        continue;
      }
      const line = this.pending.length ? Buffer.concat([this.pending, piece]) : piece;
      this.pending = EMPTY;
      if (line.length > this.maxBytes) this.onOversize();
      else if (line.length > 0) this.onLine(line.toString('utf8'));
    }
    if (this.discarding || start === chunk.length) return;
    const rest = chunk.subarray(start);
    if (this.pending.length + rest.length > this.maxBytes) {
      this.pending = EMPTY;
      this.discarding = true;
      this.onOversize();
      return;
    }
    this.pending = Buffer.concat([this.pending, rest]);
  }
}

/** A decoded line: the message, or the error to answer with and the request id if one was readable. */
export type Decoded<T> = { ok: true; value: T } | { ok: false; id: string; error: WireError };

/**
 * Parses and validates one line. The protocol version is checked before the schema so that a
 * peer of another version gets a clear ERR_AGENT_PROTOCOL instead of unrelated field errors.
 */
export function decodeLine<T>(line: string, schema: z.ZodType<T>, what: 'request' | 'response'): Decoded<T> {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch (err) {
    return bad('', `${what} is not valid JSON (${(err as Error).message})`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return bad('', `${what} is not a JSON object`);
  }
  const raw = value as { id?: unknown; v?: unknown };
  const id = typeof raw.id === 'string' ? raw.id : '';
  if (raw.v !== PROTOCOL_VERSION) {
    const claimed = raw.v === undefined ? 'no protocol version "v"' : `protocol ${JSON.stringify(raw.v)}`;
    return {
      ok: false,
      id,
      error: {
        code: 'ERR_AGENT_PROTOCOL',
        message: `${what} carries ${claimed}; this side speaks protocol ${PROTOCOL_VERSION}`,
        hint: 'the orchestrator and the agent come from different hoist versions: redeploy the agent with "hoist agent deploy"',
      },
    };
  }
  const parsed = schema.safeParse(value);
  if (parsed.success) return { ok: true, value: parsed.data };
  const lines = describeIssues(parsed.error);
  return bad(id, `invalid ${what}: ${lines.join('; ')}`, lines);
}

function bad(id: string, message: string, details?: string[]): Decoded<never> {
  return { ok: false, id, error: { code: 'ERR_AGENT_BAD_MESSAGE', message, ...(details ? { details } : {}) } };
}
