/**
 * The changelog file (`changelog.ndjson`): one PlanChange per line, `seq` strictly increasing.
 *
 * Crash rule: an append is one write(2) of `json + "\n"` followed by fdatasync, so a crash can
 * only leave an incomplete LAST line (no trailing newline, or bytes that are not JSON). Readers
 * ignore such a line. The next append truncates it away before writing, so the file stays
 * "complete lines only" and the torn entry, which its writer never saw acknowledged, is dropped.
 * We truncate rather than prepend a newline because a newline would turn the torn bytes into a
 * middle line, which readers must treat as corruption.
 */
import { promises as fs, fstatSync, writeSync } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import { corruptFile, issueLines, parseStoreJson, readStoreFile } from '../durable-files.js';
import { StateError } from '../errors.js';
import type { PlanChange } from '../plan/types.js';
import { planChangeSchema } from './schema.js';
import type { NewPlanChange } from './store.js';

const NL = 0x0a;

/** Runs an append's write step under the caller's fencing check. */
export type Fence = <T>(write: () => Promise<T>) => Promise<T>;

const runWrite: Fence = (write) => write();

/** Where a parse starts: byte offset, line number and last seq already seen before it. */
interface ParseStart {
  line: number;
  lastSeq: number;
}

/** Result of parsing a changelog (or the tail of one). */
export interface ParsedChangelog {
  changes: PlanChange[];
  /** Bytes of `buf` holding complete, valid lines; anything after is a torn tail. */
  validBytes: number;
  /** Lines consumed in `validBytes`. */
  lines: number;
  lastSeq: number;
}

/**
 * Parses changelog bytes. A torn last line is left out of `validBytes`; any other bad line, or
 * a seq that does not increase, is ERR_STORE_CORRUPT naming `file` and the line number.
 */
function parseChangelog(
  buf: Buffer,
  file: string,
  start: ParseStart = { line: 0, lastSeq: 0 },
  known?: ReadonlySet<string>,
): ParsedChangelog {
  const changes: PlanChange[] = [];
  let { line, lastSeq } = start;
  let pos = 0;
  while (pos < buf.length) {
    const nl = buf.indexOf(NL, pos);
    if (nl === -1) break; // no newline yet: torn (or still being written by the writer)
    const lineNo = line + 1;
    const text = buf.toString('utf8', pos, nl);
    if (text.trim() === '') {
      line = lineNo;
      pos = nl + 1;
      continue;
    }
    let value: unknown;
    try {
      value = parseStoreJson(text, file, `line ${lineNo} is not valid JSON`);
    } catch (err) {
      if (nl === buf.length - 1) break; // bad bytes on the last line: a torn write
      throw err;
    }
    const parsed = planChangeSchema.safeParse(value);
    if (!parsed.success) {
      const err = corruptFile(file, `line ${lineNo} is not a valid change`);
      err.details.push(...issueLines(parsed.error));
      throw err;
    }
    if (parsed.data.seq <= lastSeq) {
      throw corruptFile(file, `line ${lineNo} has seq ${parsed.data.seq}, not above the previous seq ${lastSeq}`);
    }
    // A change to a phase the plan lacks would be ignored by resolve, so a plan whose real phase
    // failed could read as done and be closed.
    if (known && !known.has(parsed.data.phase)) {
      throw corruptFile(
        file,
        `line ${lineNo} names phase ${JSON.stringify(parsed.data.phase.slice(0, 200))}, which is not in the operation's plan`,
      );
    }
    changes.push(parsed.data);
    lastSeq = parsed.data.seq;
    line = lineNo;
    pos = nl + 1;
  }
  return { changes, validBytes: pos, lines: line, lastSeq };
}

/** Reads a whole changelog; a missing file reads as empty. `known`: the plan's phase ids, if checked. */
export async function readChangelog(file: string, known?: ReadonlySet<string>): Promise<PlanChange[]> {
  const buf = await readStoreFile(file);
  return buf === undefined ? [] : parseChangelog(buf, file, undefined, known).changes;
}

/** A change waiting for its turn, and who awaits it. */
interface Pending {
  change: NewPlanChange;
  fence: Fence;
  resolve(entry: PlanChange): void;
  reject(err: unknown): void;
}

/**
 * Appender for one changelog, keeping its file open. It caches the file size and last seq and
 * re-reads only the bytes added since, when another process (a previous lock holder) appended.
 * Appends are serialized so concurrent callers in this process get distinct seqs, and committed
 * as a group: the changes that arrive while one write is on its way to disk go out together, under
 * one fence and one fdatasync (a window of 50 phases finishing at once costs one of each, not 50).
 */
export class ChangelogAppender {
  private size = 0;
  private lines = 0;
  private lastSeq = 0;
  private queue: Promise<unknown> = Promise.resolve();
  private pending: Pending[] = [];

  private constructor(
    private readonly fh: FileHandle,
    readonly file: string,
  ) {}

  /** Opens (creating if needed) `file` for appending. */
  static async open(file: string): Promise<ChangelogAppender> {
    return new ChangelogAppender(await fs.open(file, 'a+', 0o644), file);
  }

  /**
   * Appends one change with the next seq; resolves once it is on disk. `fence` wraps the
   * read-the-tail-and-write step (the store's lease check); by default it just runs it. Changes
   * share a write only with neighbours passing the same fence.
   */
  append(change: NewPlanChange, fence: Fence = runWrite): Promise<PlanChange> {
    return new Promise<PlanChange>((resolve, reject) => {
      this.pending.push({ change, fence, resolve, reject });
      if (this.pending.length === 1) this.queue = this.queue.then(() => this.flush());
    });
  }

  /** Closes the file once pending appends are done. */
  async close(): Promise<void> {
    await this.queue;
    await this.fh.close();
  }

  /** Writes what is pending, one group per run of the same fence; each caller gets its own outcome. */
  private async flush(): Promise<void> {
    const batch = this.pending.splice(0);
    for (let i = 0; i < batch.length; ) {
      let end = i + 1;
      while (end < batch.length && batch[end]!.fence === batch[i]!.fence) end++;
      const group = batch.slice(i, end);
      try {
        const entries = await group[0]!.fence(() => this.appendNow(group.map((p) => p.change)));
        group.forEach((p, k) => {
          const entry = entries[k]!;
          if (entry instanceof Error) p.reject(entry);
          else p.resolve(entry);
        });
      } catch (err) {
        for (const p of group) p.reject(err);
      }
      i = end;
    }
  }

  /** Appends `changes` in one write and one fdatasync; an invalid change is refused alone. */
  private async appendNow(changes: NewPlanChange[]): Promise<(PlanChange | StateError)[]> {
    // fstat and write are synchronous (see guard.ts): only the datasync waits on the disk.
    const { size } = fstatSync(this.fh.fd);
    if (size !== this.size) await this.catchUp(size);
    let seq = this.lastSeq;
    const out: (PlanChange | StateError)[] = [];
    const lines: string[] = [];
    for (const change of changes) {
      const { seq: _ignored, ...rest } = change as Partial<PlanChange>;
      const checked = planChangeSchema.safeParse({ seq: seq + 1, ...rest });
      if (!checked.success) {
        out.push(
          new StateError('ERR_STORE_INVALID_CHANGE', `refusing to append an invalid change to ${this.file}`, {
            hint: 'this is a bug in the caller: the change does not match the PlanChange schema',
            details: issueLines(checked.error),
          }),
        );
        continue;
      }
      seq += 1;
      out.push(checked.data);
      lines.push(`${JSON.stringify(checked.data)}\n`);
    }
    if (lines.length === 0) return out;
    const data = Buffer.from(lines.join(''), 'utf8');
    // O_APPEND puts every write at the end; a short write loops. On failure the cached size is
    // left behind, so the next append sees the mismatch and truncates whatever was written.
    let off = 0;
    while (off < data.length) {
      off += writeSync(this.fh.fd, data, off, data.length - off);
    }
    await this.fh.datasync();
    this.size += data.length;
    this.lines += lines.length;
    this.lastSeq = seq;
    return out;
  }

  /** Brings the cache up to the file's `size`, dropping a torn tail. */
  private async catchUp(size: number): Promise<void> {
    if (size < this.size) {
      this.size = 0;
      this.lines = 0;
      this.lastSeq = 0;
    }
    const buf = Buffer.alloc(size - this.size);
    let off = 0;
    while (off < buf.length) {
      const { bytesRead } = await this.fh.read(buf, off, buf.length - off, this.size + off);
      if (bytesRead === 0) break;
      off += bytesRead;
    }
    const parsed = parseChangelog(buf.subarray(0, off), this.file, { line: this.lines, lastSeq: this.lastSeq });
    this.size += parsed.validBytes;
    this.lines = parsed.lines;
    this.lastSeq = parsed.lastSeq;
    if (this.size < size) {
      await this.fh.truncate(this.size);
      await this.fh.datasync();
    }
  }
}
