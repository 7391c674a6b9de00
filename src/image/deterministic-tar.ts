/**
 * Writes a directory as a tar(.gz) whose bytes depend only on the names and contents of its
 * files: entries in sorted depth-first order, mtime fixed, uid/gid 0 with no user names, modes
 * reduced to 0644/0755, relative names only. Building an image twice gives the same sha256, so
 * a blob's digest identifies its content. Headers come from node-tar; the layout is ours because
 * node-tar's packer takes ownership and modes from the filesystem.
 */
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { lstat, readdir, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import * as tar from 'tar';
import { InputError } from '../errors.js';
import { siblingTemp } from './fs-util.js';

/** Every entry gets this mtime. */
const FIXED_MTIME = new Date(0);

const BLOCK = 512;

/** One file or directory to pack; `rel` is the POSIX path inside the archive. */
export interface TreeEntry {
  rel: string;
  abs: string;
  type: 'File' | 'Directory';
  size: number;
  executable: boolean;
}

/** Lists `root` depth-first in sorted order; symlinks and special files are refused. */
export async function listTree(root: string, skip: (rel: string) => boolean = () => false): Promise<TreeEntry[]> {
  const out: TreeEntry[] = [];
  const walk = async (dir: string, prefix: string): Promise<void> => {
    const names = (await readdir(dir)).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    for (const name of names) {
      const rel = prefix === '' ? name : `${prefix}/${name}`;
      if (skip(rel)) continue;
      const abs = join(dir, name);
      const info = await lstat(abs);
      if (info.isDirectory()) {
        out.push({ rel, abs, type: 'Directory', size: 0, executable: true });
        await walk(abs, rel);
      } else if (info.isFile()) {
        out.push({ rel, abs, type: 'File', size: info.size, executable: (info.mode & 0o111) !== 0 });
      } else {
        throw new InputError('ERR_IMAGE_UNSUPPORTED_ENTRY', `${abs}: only regular files and directories can be packed`, {
          hint: 'replace the symlink or special file with a regular file (or remove it) and build again',
        });
      }
    }
  };
  await walk(root, '');
  return out;
}

function header(entry: TreeEntry): Buffer {
  const path = entry.type === 'Directory' ? `${entry.rel}/` : entry.rel;
  const block = Buffer.alloc(BLOCK);
  const needPax = new tar.Header({
    path,
    type: entry.type,
    mode: entry.executable ? 0o755 : 0o644,
    uid: 0,
    gid: 0,
    uname: '',
    gname: '',
    size: entry.size,
    mtime: FIXED_MTIME,
  }).encode(block);
  // Names longer than the ustar fields travel in a pax header in front of the entry.
  if (!needPax) return block;
  return Buffer.concat([new tar.Pax({ path, mtime: FIXED_MTIME, uid: 0, gid: 0 }).encode(), block]);
}

function padding(size: number): Buffer {
  return Buffer.alloc((BLOCK - (size % BLOCK)) % BLOCK);
}

async function* tarBytes(entries: readonly TreeEntry[]): AsyncGenerator<Buffer> {
  for (const entry of entries) {
    yield header(entry);
    if (entry.type !== 'File') continue;
    let read = 0;
    for await (const chunk of createReadStream(entry.abs)) {
      read += (chunk as Buffer).length;
      if (read > entry.size) break;
      yield chunk as Buffer;
    }
    // The size is already in the header; a file that changed while packing would corrupt the archive.
    if (read !== entry.size) {
      throw new InputError('ERR_IMAGE_SOURCE_CHANGED', `${entry.abs}: file changed while it was being packed`, {
        hint: 'build again once nothing is writing to the image sources',
      });
    }
    yield padding(entry.size);
  }
  yield Buffer.alloc(BLOCK * 2);
}

/** Digest and size of a written archive. */
export interface WrittenArchive {
  sha256: string;
  size: number;
}

/**
 * Packs `root` into `outFile` (gzip when `gzip`), written to a temp file and renamed into
 * place, and returns the digest of the bytes written.
 */
export async function writeTree(
  root: string,
  outFile: string,
  options: { gzip: boolean; skip?: (rel: string) => boolean },
): Promise<WrittenArchive> {
  const entries = await listTree(root, options.skip);
  const hash = createHash('sha256');
  let size = 0;
  const tap = new Transform({
    transform(chunk: Buffer, _enc, done) {
      hash.update(chunk);
      size += chunk.length;
      done(null, chunk);
    },
  });
  const tmp = siblingTemp(outFile);
  try {
    const source = Readable.from(tarBytes(entries));
    if (options.gzip) await pipeline(source, createGzip({ level: 9 }), tap, createWriteStream(tmp));
    else await pipeline(source, tap, createWriteStream(tmp));
    await rename(tmp, outFile);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
  return { sha256: hash.digest('hex'), size };
}
