/** Small filesystem helpers of the image code: digests and putting a finished directory in place. */
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

/** sha256 (hex) and byte size of a file, read as a stream. */
export async function hashFile(file: string): Promise<{ sha256: string; size: number }> {
  const hash = createHash('sha256');
  let size = 0;
  for await (const chunk of createReadStream(file)) {
    hash.update(chunk as Buffer);
    size += (chunk as Buffer).length;
  }
  return { sha256: hash.digest('hex'), size };
}

/** sha256 (hex) of a buffer. */
export function hashBuffer(data: Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

/** A fresh path beside `target`, on the same filesystem so a rename onto `target` is atomic. */
export function siblingTemp(target: string, tag = 'tmp'): string {
  return join(dirname(target), `.${basename(target)}.${tag}-${randomBytes(6).toString('hex')}`);
}

function errno(err: unknown): string | undefined {
  return (err as NodeJS.ErrnoException | undefined)?.code;
}

/**
 * Moves the finished directory `ready` to `dest`, replacing whatever is there. Readers see the
 * old tree or the new one, never a half-written one; the old tree is removed afterwards.
 */
export async function replaceDir(ready: string, dest: string): Promise<void> {
  await mkdir(dirname(dest), { recursive: true });
  try {
    await rename(ready, dest);
    return;
  } catch (err) {
    if (!['ENOTEMPTY', 'EEXIST', 'ENOTDIR', 'EISDIR'].includes(errno(err) ?? '')) throw err;
  }
  const old = siblingTemp(dest, 'old');
  await rename(dest, old);
  try {
    await rename(ready, dest);
  } catch (err) {
    await rename(old, dest).catch(() => undefined);
    throw err;
  }
  await rm(old, { recursive: true, force: true });
}
