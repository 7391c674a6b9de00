/**
 * Reads `app.yaml` out of an image archive in memory. Nothing is unpacked to disk: an image is
 * only validated here, and unpacking is the job of whoever uploads its packages.
 */
import { posix } from 'node:path';
import { InputError } from '../errors.js';
import { scanArchive } from '../image/archive-scan.js';

/** File names that mark an image archive. */
const ARCHIVE_SUFFIXES = ['.tar', '.tar.gz', '.tgz'] as const;

/** True when `path` names a `.tar`, `.tar.gz` or `.tgz` file. */
export function isArchivePath(path: string): boolean {
  const lower = path.toLowerCase();
  return ARCHIVE_SUFFIXES.some((suffix) => lower.endsWith(suffix));
}

/** The manifest found in an archive and the files that sit beside it. */
export interface ArchiveManifest {
  /** Entry name of the manifest, e.g. `upgrade-demo-2.0.0/app.yaml`. */
  entry: string;
  text: string;
  /** Every file entry, relative to the manifest's folder. */
  files: Set<string>;
}

// A manifest is a few kilobytes; anything this large is not one.
const MAX_MANIFEST_BYTES = 1024 * 1024;

const HINT = 'pass an image archive with app.yaml at its root or under one top-level directory';

/** Entry name without a leading `./` or trailing `/`. */
export function cleanEntryName(name: string): string {
  return posix
    .normalize(name)
    .replace(/^(\.\/)+/, '')
    .replace(/\/+$/, '');
}

/** Reads the archive, buffering only candidate manifests (root or one level down). */
async function scan(archive: string): Promise<{ files: string[]; manifests: Map<string, string> }> {
  const files: string[] = [];
  const manifests = new Map<string, string>();
  const reads: Promise<void>[] = [];
  await scanArchive(archive, archive, (entry) => {
    const name = cleanEntryName(entry.path);
    if (entry.type !== 'File' && entry.type !== 'OldFile') return;
    files.push(name);
    const depth = name.split('/').length;
    if (posix.basename(name) !== 'app.yaml' || depth > 2 || (entry.size ?? 0) > MAX_MANIFEST_BYTES) return;
    const chunks: Buffer[] = [];
    reads.push(
      new Promise((resolve) => {
        entry.on('data', (chunk: Buffer) => chunks.push(chunk));
        entry.on('end', () => {
          manifests.set(name, Buffer.concat(chunks).toString('utf8'));
          resolve();
        });
      }),
    );
  });
  await Promise.all(reads);
  return { files, manifests };
}

/** Finds and reads the manifest of an image archive; unreadable archives are InputErrors. */
export async function readArchiveManifest(archive: string): Promise<ArchiveManifest> {
  const { files, manifests } = await scan(archive);
  const topLevel = new Set(files.map((f) => f.split('/')[0]));
  let entry: string | undefined;
  if (manifests.has('app.yaml')) entry = 'app.yaml';
  else if (topLevel.size === 1) {
    const candidate = `${[...topLevel][0]}/app.yaml`;
    if (manifests.has(candidate)) entry = candidate;
  }
  const text = entry === undefined ? undefined : manifests.get(entry);
  if (entry === undefined || text === undefined) {
    throw new InputError('ERR_INPUT_NOT_FOUND', `${archive}: no app.yaml at the archive root or under a single top-level directory`, {
      hint: HINT,
    });
  }
  const prefix = entry === 'app.yaml' ? '' : `${posix.dirname(entry)}/`;
  const inside = files.filter((f) => f.startsWith(prefix)).map((f) => f.slice(prefix.length));
  return { entry, text, files: new Set(inside) };
}
