/**
 * Durable file primitives shared by the JSON store, the agent's records and the sandbox. A record
 * file is replaced, never edited in place: write a temp file beside it, fsync it, rename it over
 * the target, fsync the directory. After a crash the target holds either the old or the new
 * content, never a mix.
 */
import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import type { z } from 'zod';
import { limit } from './config/limits.js';
import { depthExceeds, ReadRefused, readRegularFile } from './config/read-input.js';
import { StateError } from './errors.js';

/** Prefix of temp files and directories; readers skip names that start with a dot. */
const TEMP_PREFIX = '.tmp-';

/** A unique temp name for `target` in the same directory (same filesystem, so rename is atomic). */
export function tempPath(target: string): string {
  const name = `${TEMP_PREFIX}${path.basename(target)}-${process.pid}-${randomBytes(4).toString('hex')}`;
  return path.join(path.dirname(target), name);
}

/** Makes a directory entry change (create, rename, unlink) durable. */
export async function fsyncDir(dir: string): Promise<void> {
  const fh = await fs.open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/** Whether a write must survive a machine crash (fsync) or only a process crash. */
export interface WriteOptions {
  durable?: boolean;
}

/** Writes `data` to a new file and (unless not durable) fsyncs it; fails if the file exists. */
export async function writeNewFile(file: string, data: string | Buffer, opts: WriteOptions = {}): Promise<void> {
  const fh = await fs.open(file, 'wx', 0o644);
  try {
    await fh.writeFile(data);
    if (opts.durable !== false) await fh.sync();
  } finally {
    await fh.close();
  }
}

/** Replaces `file` atomically with `data` (temp + fsync + rename + fsync of the directory). */
export async function writeFileAtomic(file: string, data: string | Buffer, opts: WriteOptions = {}): Promise<void> {
  const tmp = tempPath(file);
  try {
    await writeNewFile(tmp, data, opts);
    await fs.rename(tmp, file);
  } catch (err) {
    await fs.rm(tmp, { force: true });
    throw err;
  }
  if (opts.durable !== false) await fsyncDir(path.dirname(file));
}

/** JSON of a record file: pretty, with a trailing newline, so people can read and diff it. */
export function recordJson(value: unknown): string {
  return `${JSON.stringify(value, null, 2)}\n`;
}

/** The error for a store file that cannot be used as it is. */
export function corruptFile(file: string, problem: string, cause?: unknown): StateError {
  return new StateError('ERR_STORE_CORRUPT', `store file ${file} ${problem}`, {
    hint: `inspect ${file}; restore it from a backup or fix it by hand (the state directory holds no other copy)`,
    ...(cause === undefined ? {} : { cause }),
  });
}

/** One line per zod issue, with its dot path, for an error's details. */
export function issueLines(error: z.ZodError): string[] {
  return error.issues.map((i) => `${i.path.length ? i.path.join('.') : '(root)'}: ${i.message}`);
}

/**
 * Reads a store file: a regular file within the store size limit, never a FIFO or a directory.
 * Returns undefined when it does not exist; anything else wrong is ERR_STORE_CORRUPT naming it.
 */
export async function readStoreFile(file: string): Promise<Buffer | undefined> {
  try {
    return await readRegularFile(file, 'storeBytes');
  } catch (err) {
    if (!(err instanceof ReadRefused)) throw err;
    if (err.reason === 'missing') return undefined;
    throw corruptFile(file, err.message, err);
  }
}

/**
 * JSON text of a store file as a value no deeper than the depth limit. The parser's message is
 * not repeated: it quotes the file's bytes, which may be anything.
 */
export function parseStoreJson(text: string, file: string, what = 'is not valid JSON'): unknown {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    const at = /position (\d+)/.exec((err as Error).message)?.[1];
    throw corruptFile(file, at === undefined ? what : `${what} (at byte ${at})`);
  }
  const max = limit('depth');
  if (depthExceeds(value, max)) throw corruptFile(file, `is nested deeper than ${max} levels`);
  return value;
}

/**
 * Reads and validates a JSON record file. Returns undefined when the file does not exist;
 * anything unreadable or invalid is ERR_STORE_CORRUPT naming the file.
 */
export async function readRecord<T>(file: string, schema: z.ZodType<T>): Promise<T | undefined> {
  const buf = await readStoreFile(file);
  if (buf === undefined) return undefined;
  const value = parseStoreJson(buf.toString('utf8'), file);
  const parsed = schema.safeParse(value);
  if (!parsed.success) {
    const err = corruptFile(file, `does not match its schema (${parsed.error.issues.length} problem(s))`);
    err.details.push(...issueLines(parsed.error).slice(0, 20));
    throw err;
  }
  return parsed.data;
}

/** True when `err` is a Node system error with the given code. */
export function isErrno(err: unknown, code: string): boolean {
  return typeof err === 'object' && err !== null && (err as NodeJS.ErrnoException).code === code;
}

/** The text of `file`, or undefined when it does not exist. */
export async function readFileOrUndefined(file: string): Promise<string | undefined> {
  try {
    return await fs.readFile(file, 'utf8');
  } catch (err) {
    if (isErrno(err, 'ENOENT')) return undefined;
    throw err;
  }
}
