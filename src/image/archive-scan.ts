/**
 * The one listing pass over an untrusted tar or tar.gz: streamed from a regular file (never a
 * FIFO or device), headers only, and stopped at the first entry that crosses a limit on entry
 * count, one entry's size or the total uncompressed size — before anything is extracted, and
 * without holding the archive or its entries in memory.
 */
import { Readable } from 'node:stream';
import * as tar from 'tar';
import { limit, limitVariable, showBytes } from '../config/limits.js';
import { openRegularFile, ReadRefused } from '../config/read-input.js';
import { InputError } from '../errors.js';
import { badArchive } from './errors.js';

/** An archive on disk (path) or in memory. */
export type ArchiveSource = string | Buffer;

function tooBig(label: string, what: string, variable: string): InputError {
  return new InputError('ERR_IMAGE_TOO_LARGE', `${label}: ${what}; nothing was extracted`, {
    hint: `check that this is the right archive; if it is, raise the limit with ${variable}`,
  });
}

/** An archive path that is not a readable regular file, as an input error naming it. */
export function archiveRefused(label: string, err: ReadRefused): InputError {
  const code =
    err.reason === 'missing' ? 'ERR_INPUT_NOT_FOUND' : err.reason === 'unreadable' ? 'ERR_INPUT_UNREADABLE' : 'ERR_INPUT_NOT_REGULAR';
  return new InputError(code, `${label}: archive ${err.message}`, { hint: err.hint ?? 'pass the path of a .tar or .tar.gz file' });
}

/**
 * Calls `onEntry` for every entry header (bodies are skipped unless `onEntry` reads them) and
 * throws ERR_IMAGE_TOO_LARGE at the first limit crossed, ERR_IMAGE_ARCHIVE for a damaged one.
 */
export async function scanArchive(source: ArchiveSource, label: string, onEntry: (entry: tar.ReadEntry) => void): Promise<void> {
  const maxEntries = limit('imageEntries');
  const maxTotal = limit('imageBytes');
  const maxEntry = limit('imageEntryBytes');
  let input: Readable;
  if (typeof source === 'string') {
    const opened = await openRegularFile(source, Number.MAX_SAFE_INTEGER).catch((err: unknown) => {
      throw err instanceof ReadRefused ? archiveRefused(label, err) : err;
    });
    input = opened.handle.createReadStream();
  } else {
    input = Readable.from([source]);
  }
  let entries = 0;
  let total = 0;
  await new Promise<void>((resolve, reject) => {
    let failed = false;
    const fail = (err: unknown): void => {
      if (failed) return;
      failed = true;
      input.destroy();
      reject(err);
    };
    // tar.t resumes (drains) each entry right after this callback, so unread bodies are never buffered.
    const onReadEntry = (entry: tar.ReadEntry): void => {
      if (failed) return;
      entries++;
      const size = entry.size ?? 0;
      total += size;
      if (entries > maxEntries) return fail(tooBig(label, `more than ${maxEntries} entries`, limitVariable('imageEntries')));
      if (size > maxEntry) {
        return fail(
          tooBig(
            label,
            `entry "${entry.path.slice(0, 200)}" is ${showBytes(size)}, over the ${showBytes(maxEntry)} limit for one entry`,
            limitVariable('imageEntryBytes'),
          ),
        );
      }
      if (total > maxTotal) return fail(tooBig(label, `unpacks to more than ${showBytes(maxTotal)}`, limitVariable('imageBytes')));
      try {
        onEntry(entry);
      } catch (err) {
        fail(err);
      }
    };
    const parser = tar.t({ strict: true, onReadEntry });
    parser.on('error', (err: unknown) => fail(badArchive(label, err)));
    parser.on('end', () => (failed ? undefined : resolve()));
    input.on('error', (err) => fail(badArchive(label, err)));
    input.pipe(parser as unknown as NodeJS.WritableStream);
  });
}
