/**
 * Verifying an image without unpacking it. A built image archive is read in one streaming pass:
 * the package index is kept (it is small), every blob is hashed as it streams by and only its
 * sha256 and size are kept, and the index is then checked against them. Nothing is written to
 * disk and memory stays bounded whatever the archive holds, so `image inspect` and a dry run of
 * a large or hostile archive cost one read of it. Every entry is also checked as extraction would
 * check it (no escape, no device, no link trick), so what passes here also unpacks. A directory is verified in place; a source tree
 * (or an archive of one) has to be built first, which needs a work directory.
 */
import { createHash } from 'node:crypto';
import { posix } from 'node:path';
import type { ReadEntry } from 'tar';
import { cleanEntryName as clean } from '../config/archive.js';
import { resolveImageArg } from '../config/load.js';
import type { ImageManifest } from '../config/schema.js';
import { scanArchive } from './archive-scan.js';
import { IMAGE_LAYOUT } from './build.js';
import { checksumMismatch } from './errors.js';
import { checkIndexed, imageDigest, indexError, openImage, parseIndex } from './open.js';
import { checkEntries, type ListedEntry } from './safe-extract.js';
import type { PackageIndex } from './schema.js';

/** What a verified image is: its manifest, its package index and their digest. */
export interface VerifiedImage {
  manifest: ImageManifest;
  index: PackageIndex;
  /** As {@link Image.digest}: equal digests mean the same packages. */
  digest: string;
}

/** Feeds every chunk of an entry's body to `onChunk`; resolves when the body has been read. */
function consume(entry: ReadEntry, onChunk: (chunk: Buffer) => void): Promise<void> {
  return new Promise((resolve) => {
    entry.on('data', onChunk);
    entry.on('end', () => resolve());
  });
}

/** A package index is a few kilobytes per package; this is far above any real one. */
const MAX_INDEX_BYTES = 64 * 1024 * 1024;

/** Verifies every package blob of the image at `path` against its index (exit 3 on any mismatch). */
export async function verifyImage(path: string): Promise<VerifiedImage> {
  const loaded = await resolveImageArg(path);
  if (loaded.source.kind === 'archive') {
    const streamed = await verifyArchive(path, loaded.manifest, loaded.source.entry);
    if (streamed) return streamed;
  }
  const image = await openImage(path);
  try {
    await image.verify();
    return { manifest: image.manifest, index: image.index, digest: image.digest };
  } finally {
    await image.close();
  }
}

interface Blob {
  sha256: string;
  size: number;
}

/**
 * One pass over the archive whose manifest is `manifestEntry`. Undefined when the archive holds no
 * package index: it is a source tree, which only a build can verify.
 */
async function verifyArchive(path: string, manifest: ImageManifest, manifestEntry: string): Promise<VerifiedImage | undefined> {
  const root = posix.dirname(manifestEntry);
  const prefix = root === '.' ? '' : `${root}/`;
  const blobsDir = `${prefix}${IMAGE_LAYOUT.blobs}/`;
  const blobs = new Map<string, Blob>();
  let indexText: string | undefined;
  let indexTooLarge = false;
  const reads: Promise<void>[] = [];
  const listed: ListedEntry[] = [];
  await scanArchive(path, path, (entry) => {
    listed.push({ path: entry.path, type: entry.type, ...(entry.linkpath ? { linkpath: entry.linkpath } : {}) });
    if (entry.type !== 'File' && entry.type !== 'OldFile') return;
    const name = clean(entry.path);
    if (name === `${prefix}${IMAGE_LAYOUT.index}`) {
      if ((entry.size ?? 0) > MAX_INDEX_BYTES) {
        indexTooLarge = true;
        return;
      }
      const chunks: Buffer[] = [];
      reads.push(
        consume(entry, (chunk) => chunks.push(chunk)).then(() => {
          indexText = Buffer.concat(chunks).toString('utf8');
        }),
      );
    } else if (name.startsWith(blobsDir) && !name.slice(blobsDir.length).includes('/')) {
      const hash = createHash('sha256');
      let size = 0;
      const consumed = consume(entry, (chunk) => {
        hash.update(chunk);
        size += chunk.length;
      });
      // A later entry of the same name replaces an earlier one, as extraction would.
      reads.push(consumed.then(() => void blobs.set(name.slice(blobsDir.length), { sha256: hash.digest('hex'), size })));
    }
  });
  await Promise.all(reads);
  // An entry that extraction would refuse makes the image unusable, unpacked or not.
  checkEntries(listed, path);
  if (indexTooLarge) throw indexError(path, `is larger than ${MAX_INDEX_BYTES} bytes, far above any real package index`);
  if (indexText === undefined) return undefined;
  const index = parseIndex(path, indexText);
  checkIndexed(path, manifest, index, (entry) => blobs.get(entry.sha256)?.size);
  for (const entry of index.packages) {
    const actual = blobs.get(entry.sha256)?.sha256;
    if (actual !== entry.sha256) throw checksumMismatch(path, entry, entry.sha256, actual ?? '');
  }
  return { manifest, index, digest: imageDigest(manifest, index) };
}
