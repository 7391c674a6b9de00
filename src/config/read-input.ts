/**
 * The one way hoist reads a file it is given or keeps: only a regular file, only up to a size
 * cap, opened without blocking so that a FIFO, a device or a socket can never hang the command.
 * Callers turn a {@link ReadRefused} into their own error (input: exit 3, store: exit 4).
 */
import { constants, promises as fs } from 'node:fs';
import { type LimitName, limit, limitVariable, showBytes } from './limits.js';

/** Why a file could not be read, in words that fit after its path. */
export class ReadRefused extends Error {
  constructor(
    readonly reason: 'missing' | 'directory' | 'not-regular' | 'too-large' | 'unreadable',
    message: string,
    readonly hint?: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

function kindOf(st: {
  isDirectory(): boolean;
  isFIFO(): boolean;
  isSocket(): boolean;
  isCharacterDevice(): boolean;
  isBlockDevice(): boolean;
}): string {
  if (st.isDirectory()) return 'a directory';
  if (st.isFIFO()) return 'a named pipe (FIFO)';
  if (st.isSocket()) return 'a socket';
  if (st.isCharacterDevice() || st.isBlockDevice()) return 'a device';
  return 'not a regular file';
}

/** Opens `file` read-only without blocking and checks it is a regular file within `cap` bytes. */
export async function openRegularFile(file: string, cap: LimitName | number): Promise<{ handle: fs.FileHandle; size: number }> {
  let handle: fs.FileHandle;
  try {
    // O_NONBLOCK: opening a FIFO with no writer returns at once instead of waiting for one.
    handle = await fs.open(file, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') throw new ReadRefused('missing', 'not found', undefined, { cause: err });
    if (code === 'EISDIR') throw new ReadRefused('directory', 'is a directory', undefined, { cause: err });
    throw new ReadRefused('unreadable', `cannot be read (${code ?? (err as Error).message})`, 'check the file permissions', { cause: err });
  }
  try {
    const st = await handle.stat();
    if (!st.isFile()) {
      throw new ReadRefused(st.isDirectory() ? 'directory' : 'not-regular', `is ${kindOf(st)}; only regular files are read`);
    }
    const max = typeof cap === 'number' ? cap : limit(cap);
    if (st.size > max) {
      const raise = typeof cap === 'number' ? '' : `, or raise the limit with ${limitVariable(cap)}=BYTES`;
      throw new ReadRefused(
        'too-large',
        `is ${showBytes(st.size)}, over the ${showBytes(max)} limit`,
        `check that this is the right file${raise}`,
      );
    }
    return { handle, size: st.size };
  } catch (err) {
    await handle.close();
    throw err;
  }
}

/** Reads a whole regular file of at most `cap` bytes (a limit name or a byte count). */
export async function readRegularFile(file: string, cap: LimitName | number): Promise<Buffer> {
  const { handle, size } = await openRegularFile(file, cap);
  try {
    // Read no more than the size checked: a file that grows meanwhile is cut, never unbounded.
    const buf = Buffer.alloc(size);
    let at = 0;
    while (at < size) {
      const { bytesRead } = await handle.read(buf, at, size - at, at);
      if (bytesRead === 0) break;
      at += bytesRead;
    }
    return buf.subarray(0, at);
  } catch (err) {
    if (err instanceof ReadRefused) throw err;
    throw new ReadRefused('unreadable', `cannot be read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`, undefined, {
      cause: err,
    });
  } finally {
    await handle.close();
  }
}

/** Nesting depth of a plain value, measured without recursion; stops counting past `max`. */
export function depthExceeds(value: unknown, max: number): boolean {
  const stack: [unknown, number][] = [[value, 1]];
  while (stack.length > 0) {
    const [v, d] = stack.pop()!;
    if (typeof v !== 'object' || v === null) continue;
    if (d > max) return true;
    for (const child of Array.isArray(v) ? v : Object.values(v))
      if (typeof child === 'object' && child !== null) stack.push([child, d + 1]);
  }
  return false;
}
