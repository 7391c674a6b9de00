/**
 * Extraction of untrusted archives (images, package blobs). A first pass lists every entry and
 * refuses the whole archive, before anything is written, if one entry could land outside the
 * destination: `..` in a name, an absolute name, a symlink or hardlink whose target leaves the
 * directory or any name that goes through a symlink of the archive, or a device/FIFO entry.
 * The second pass extracts into a temp directory beside the destination and renames it into
 * place, so a failure part-way leaves nothing behind.
 */
import { mkdir, rm } from 'node:fs/promises';
import { posix } from 'node:path';
import * as tar from 'tar';
import { HoistError } from '../errors.js';
import { type ArchiveSource, scanArchive } from './archive-scan.js';
import { badArchive, unsafeEntry } from './errors.js';
import { replaceDir, siblingTemp } from './fs-util.js';

export type { ArchiveSource } from './archive-scan.js';

/** What the first pass records of each entry. */
export interface ListedEntry {
  path: string;
  type: string;
  linkpath?: string;
}

const ALLOWED_TYPES = new Set(['File', 'OldFile', 'ContiguousFile', 'Directory', 'SymbolicLink', 'Link']);

/** Feeds a parser (tar.t / tar.x without `file`) a buffer and waits for it to finish. */
async function feed(stream: NodeJS.EventEmitter & { end(data: Buffer): unknown }, data: Buffer, done: string): Promise<void> {
  const finished = new Promise<void>((resolve, reject) => {
    // A damaged archive can emit several errors; the first one wins, the rest must not go unheard.
    stream.on('error', reject);
    stream.once(done, () => resolve());
  });
  stream.end(data);
  await finished;
}

/** Lists the entries of a tar or tar.gz within the archive limits; unreadable archives are ERR_IMAGE_ARCHIVE. */
async function listEntries(source: ArchiveSource, label: string): Promise<ListedEntry[]> {
  const entries: ListedEntry[] = [];
  await scanArchive(source, label, (entry) => {
    entries.push({ path: entry.path, type: entry.type, ...(entry.linkpath ? { linkpath: entry.linkpath } : {}) });
  });
  return entries;
}

/** Normalized relative name of an entry, or why it is refused. */
function entryName(raw: string): { name: string } | { why: string } {
  if (raw === '' || raw.includes('\0')) return { why: 'empty name or NUL byte in the name' };
  if (posix.isAbsolute(raw) || raw.startsWith('\\') || /^[A-Za-z]:/.test(raw)) return { why: 'absolute path' };
  if (raw.split(/[/\\]/).includes('..')) return { why: 'path contains ".." and could leave the extraction directory' };
  return { name: posix.normalize(raw).replace(/\/+$/, '') };
}

/**
 * Resolves a link target segment by segment from `start` (a real directory inside the tree).
 * Inside-ness is decided lexically, which is only sound if no step goes through a symlink of
 * the archive; such targets are refused.
 */
function resolveTarget(start: string, target: string, symlinks: ReadonlySet<string>): { name: string } | { why: string } {
  if (posix.isAbsolute(target) || target.startsWith('\\') || /^[A-Za-z]:/.test(target)) {
    return { why: `link target "${target}" is an absolute path` };
  }
  const stack = start === '.' || start === '' ? [] : start.split('/');
  const segments = target.split('/').filter((s) => s !== '' && s !== '.');
  for (const [i, segment] of segments.entries()) {
    if (segment === '..') {
      if (stack.length === 0) return { why: `link target "${target}" points outside the extraction directory` };
      stack.pop();
      continue;
    }
    stack.push(segment);
    if (i < segments.length - 1 && symlinks.has(stack.join('/'))) {
      return { why: `link target "${target}" goes through the symlink "${stack.join('/')}"` };
    }
  }
  return { name: stack.join('/') };
}

/** Throws ERR_IMAGE_UNSAFE_ENTRY for the first entry that could escape `label`'s directory. */
export function checkEntries(entries: readonly ListedEntry[], label: string): void {
  const names = entries.map((e) => ({ entry: e, parsed: entryName(e.path) }));
  const symlinks = new Set<string>();
  for (const { entry, parsed } of names) {
    if ('why' in parsed) throw unsafeEntry(label, entry.path, parsed.why);
    if (entry.type === 'SymbolicLink') symlinks.add(parsed.name);
  }
  for (const { entry, parsed } of names) {
    const name = (parsed as { name: string }).name;
    if (!ALLOWED_TYPES.has(entry.type)) {
      throw unsafeEntry(label, entry.path, `${entry.type} entries are not allowed (only files, directories and links)`);
    }
    if (symlinks.has(name) && entry.type !== 'SymbolicLink') {
      throw unsafeEntry(label, entry.path, 'the name is also a symlink in the archive');
    }
    const parts = name.split('/');
    for (let i = 1; i < parts.length; i += 1) {
      const ancestor = parts.slice(0, i).join('/');
      if (symlinks.has(ancestor)) throw unsafeEntry(label, entry.path, `path goes through the symlink "${ancestor}"`);
    }
    if (entry.type === 'SymbolicLink' || entry.type === 'Link') {
      // Symlink targets are relative to the link's folder; hardlink targets to the archive root.
      const start = entry.type === 'SymbolicLink' ? posix.dirname(name) : '';
      const target = resolveTarget(start, entry.linkpath ?? '', symlinks);
      if ('why' in target) throw unsafeEntry(label, entry.path, target.why);
      if (target.name === '' && entry.type === 'Link') throw unsafeEntry(label, entry.path, 'hardlink to the extraction directory itself');
    }
  }
}

/** Options of {@link safeExtract}. */
export interface SafeExtractOptions {
  /** How messages name the archive (defaults to its path; required for in-memory archives). */
  label?: string;
}

async function unpack(source: ArchiveSource, dir: string): Promise<void> {
  // Never take ownership from the archive, even when running as root, nor setuid/setgid/sticky
  // bits: an image installs files, it does not hand out privileges.
  const options = {
    cwd: dir,
    strict: true,
    preserveOwner: false,
    onReadEntry: (entry: tar.ReadEntry) => {
      if (typeof entry.mode === 'number') entry.mode &= 0o777;
    },
  } as const;
  if (typeof source === 'string') await tar.x({ ...options, file: source });
  else await feed(tar.x(options), source, 'close');
}

/**
 * Extracts `source` to `destDir` (replacing it) after checking every entry; refuses unsafe
 * archives with ERR_IMAGE_UNSAFE_ENTRY and writes nothing in that case.
 */
export async function safeExtract(source: ArchiveSource, destDir: string, options: SafeExtractOptions = {}): Promise<void> {
  const label = options.label ?? (typeof source === 'string' ? source : 'archive');
  checkEntries(await listEntries(source, label), label);
  const tmp = siblingTemp(destDir, 'extract');
  try {
    await mkdir(tmp, { recursive: true });
    await unpack(source, tmp).catch((err: unknown) => {
      throw HoistError.isHoistError(err) ? err : badArchive(label, err);
    });
    await replaceDir(tmp, destDir);
  } catch (err) {
    await rm(tmp, { recursive: true, force: true });
    throw err;
  }
}
