/**
 * Opens a cluster image for reading: a built directory, a `.tar`/`.tar.gz`/`.tgz` of one, or a
 * source tree (built on the fly). Archives are unpacked with the safe extractor and sources
 * are built into a work directory that {@link Image.close} removes. Package blobs are checked
 * against the index's sha256 every time they are read, so a damaged or altered image never
 * reaches a node.
 */
import { mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { resolveImageArg } from '../config/load.js';
import type { ImageManifest } from '../config/schema.js';
import { InputError } from '../errors.js';
import { locatorOf, type PackageRef } from '../plan/names.js';
import { buildImage, IMAGE_LAYOUT } from './build.js';
import { checksumMismatch, packageMissing } from './errors.js';
import { hashBuffer, hashFile } from './fs-util.js';
import { requiredPackages } from './package-source.js';
import { safeExtract } from './safe-extract.js';
import type { PackageEntry, PackageIndex } from './schema.js';
import { PackageIndexSchema } from './schema.js';

/** An opened image. Call {@link Image.close} when done with it. */
export interface Image {
  /** The path the image was opened from, as messages name it. */
  source: string;
  /** The built image directory being read (temporary for archives and sources). */
  dir: string;
  manifest: ImageManifest;
  /** How messages name the manifest (e.g. `image.tar.gz!app.yaml`). */
  manifestFile: string;
  index: PackageIndex;
  /**
   * `sha256:` over the manifest and the package index. The index names every package's sha256
   * and blobs are checked against it on every read, so equal digests mean the same packages.
   */
  digest: string;
  /** The index entry of `name:version`, if the image holds it. */
  findPackage(ref: PackageRef | string): PackageEntry | undefined;
  /** Path of an entry's blob inside {@link dir} (not verified; prefer readBlob). */
  blobPath(entry: PackageEntry): string;
  /** The blob of `entry`, after checking its sha256 (ERR_IMAGE_CHECKSUM) and presence (ERR_IMAGE_PACKAGE_MISSING). */
  readBlob(entry: PackageEntry): Promise<Buffer>;
  /** Checks every blob against the index without keeping it in memory. */
  verify(): Promise<void>;
  /** Verifies the blob of `entry` and extracts it safely to `destDir` (replacing it). */
  extractPackage(entry: PackageEntry, destDir: string): Promise<void>;
  /** Removes the work directory of an archive or source image. */
  close(): Promise<void>;
}

/** Options of {@link openImage}. */
export interface OpenImageOptions {
  /** Parent of the work directory for archives and sources (default: the OS temp dir). */
  workDir?: string;
}

async function isFile(path: string): Promise<boolean> {
  return (await stat(path).catch(() => undefined))?.isFile() ?? false;
}

/** Root of an unpacked archive: itself, or its only top-level folder when app.yaml is there. */
async function archiveRoot(dir: string): Promise<string> {
  if (await isFile(join(dir, 'app.yaml'))) return dir;
  const names = await readdir(dir);
  return names.length === 1 ? join(dir, names[0] as string) : dir;
}

async function readIndex(label: string, dir: string): Promise<PackageIndex> {
  let text: string;
  try {
    text = await readFile(join(dir, IMAGE_LAYOUT.index), 'utf8');
  } catch (err) {
    throw indexError(label, `is not readable JSON: ${(err as Error).message}`, err);
  }
  return parseIndex(label, text);
}

export function indexError(label: string, why: string, cause?: unknown): InputError {
  return new InputError('ERR_IMAGE_INDEX', `${label}: ${IMAGE_LAYOUT.index} ${why}`, {
    hint: 'rebuild the image; its package index is damaged',
    ...(cause === undefined ? {} : { cause }),
  });
}

/** The package index of an image from its text: valid JSON, schema, no name:version twice. */
export function parseIndex(label: string, text: string): PackageIndex {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw indexError(label, `is not readable JSON: ${(err as Error).message}`, err);
  }
  const parsed = PackageIndexSchema.safeParse(value);
  if (!parsed.success) {
    throw indexError(label, `is invalid: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  }
  // findPackage takes the first of two entries with one name:version; a node could get the other.
  const seen = new Set<string>();
  for (const entry of parsed.data.packages) {
    const locator = locatorOf(entry);
    if (seen.has(locator)) throw indexError(label, `names package ${locator} twice`);
    seen.add(locator);
  }
  return parsed.data;
}

/** Every package the manifest needs must be indexed, and every indexed blob present. */
async function checkPackages(label: string, dir: string, manifest: ImageManifest, index: PackageIndex): Promise<void> {
  const sizes = await Promise.all(
    index.packages.map(async (entry) => {
      const blob = await stat(join(dir, IMAGE_LAYOUT.blobs, entry.sha256)).catch(() => undefined);
      return blob?.isFile() ? blob.size : undefined;
    }),
  );
  checkIndexed(label, manifest, index, (_entry, i) => sizes[i]);
}

/**
 * Every package the manifest needs must be in the index, and every indexed blob present (its
 * size by `sizeOf`, undefined when absent) with the size the index states.
 */
export function checkIndexed(
  label: string,
  manifest: ImageManifest,
  index: PackageIndex,
  sizeOf: (entry: PackageEntry, i: number) => number | undefined,
): void {
  const indexed = new Set(index.packages.map(locatorOf));
  const details: string[] = [];
  for (const required of requiredPackages(manifest)) {
    if (!indexed.has(locatorOf(required)))
      details.push(`${locatorOf(required)} (named by ${required.field}) is not in ${IMAGE_LAYOUT.index}`);
  }
  const sizes: string[] = [];
  index.packages.forEach((entry, i) => {
    const size = sizeOf(entry, i);
    if (size === undefined) details.push(`${locatorOf(entry)}: blob ${IMAGE_LAYOUT.blobs}/${entry.sha256} is missing`);
    else if (size !== entry.size) sizes.push(sizeProblem(entry, size));
  });
  if (details.length > 0)
    throw packageMissing(label, `image is missing ${details.length} package${details.length === 1 ? '' : 's'}`, details);
  if (sizes.length > 0) throw sizeMismatch(label, sizes);
}

export function sizeProblem(entry: PackageEntry, actual: number): string {
  return `${locatorOf(entry)}: ${IMAGE_LAYOUT.index} says ${entry.size} bytes, blob ${IMAGE_LAYOUT.blobs}/${entry.sha256.slice(0, 12)}… has ${actual}`;
}

/** Blobs whose size differs from the index: caught before hashing, and named one per line. */
export function sizeMismatch(label: string, problems: string[]): InputError {
  return new InputError(
    'ERR_IMAGE_SIZE',
    `${label}: ${problems.length} package blob${problems.length === 1 ? '' : 's'} differ from the size in ${IMAGE_LAYOUT.index}`,
    {
      hint: 'the image is damaged or was altered; rebuild it or copy it again',
      details: problems,
    },
  );
}

/** Turns the argument into a built image directory, using `work` for archives and sources. */
async function builtDir(arg: string, isDirectory: boolean, work: () => Promise<string>): Promise<string> {
  let dir = arg;
  if (!isDirectory) {
    const unpacked = join(await work(), 'unpacked');
    await safeExtract(arg, unpacked);
    dir = await archiveRoot(unpacked);
  }
  if (await isFile(join(dir, IMAGE_LAYOUT.index))) return dir;
  const built = join(await work(), 'image');
  await buildImage(dir, built);
  return built;
}

/** Opens an image directory, archive or source tree; see {@link Image}. */
export async function openImage(pathOrArchive: string, options: OpenImageOptions = {}): Promise<Image> {
  // The manifest is validated where the user can see it, before anything is unpacked or built.
  const loaded = await resolveImageArg(pathOrArchive);
  let workDir: string | undefined;
  const work = async (): Promise<string> => (workDir ??= await mkdtemp(join(options.workDir ?? tmpdir(), 'hoist-image-')));
  try {
    const dir = await builtDir(pathOrArchive, loaded.source.kind === 'directory', work);
    const index = await readIndex(pathOrArchive, dir);
    await checkPackages(pathOrArchive, dir, loaded.manifest, index);
    return makeImage(pathOrArchive, dir, loaded.manifest, loaded.manifestFile, index, () =>
      workDir === undefined ? Promise.resolve() : rm(workDir, { recursive: true, force: true }),
    );
  } catch (err) {
    if (workDir !== undefined) await rm(workDir, { recursive: true, force: true });
    throw err;
  }
}

/** `sha256:` over the manifest and the package index (see {@link Image.digest}). */
export function imageDigest(manifest: ImageManifest, index: PackageIndex): string {
  return `sha256:${hashBuffer(Buffer.from(JSON.stringify({ manifest, index })))}`;
}

function makeImage(
  source: string,
  dir: string,
  manifest: ImageManifest,
  manifestFile: string,
  index: PackageIndex,
  close: () => Promise<void>,
): Image {
  const blobPath = (entry: PackageEntry): string => join(dir, IMAGE_LAYOUT.blobs, entry.sha256);
  // A vanished blob is the image's fault; any other read error is passed on as it is.
  const missing = (entry: PackageEntry, cause: unknown): unknown =>
    (cause as NodeJS.ErrnoException).code === 'ENOENT'
      ? packageMissing(source, `package ${locatorOf(entry)}: blob ${IMAGE_LAYOUT.blobs}/${entry.sha256} is missing`)
      : cause;
  const readBlob = async (entry: PackageEntry): Promise<Buffer> => {
    const data = await readFile(blobPath(entry)).catch((err: unknown) => {
      throw missing(entry, err);
    });
    if (data.length !== entry.size) throw sizeMismatch(source, [sizeProblem(entry, data.length)]);
    const actual = hashBuffer(data);
    if (actual !== entry.sha256) throw checksumMismatch(source, entry, entry.sha256, actual);
    return data;
  };
  return {
    source,
    dir,
    manifest,
    manifestFile,
    index,
    digest: imageDigest(manifest, index),
    findPackage(ref) {
      const wanted = typeof ref === 'string' ? ref : locatorOf(ref);
      return index.packages.find((p) => locatorOf(p) === wanted);
    },
    blobPath,
    readBlob,
    async verify() {
      for (const entry of index.packages) {
        // Streamed: a blob is never held in memory whole.
        const { sha256, size } = await hashFile(blobPath(entry)).catch((err: unknown) => {
          throw missing(entry, err);
        });
        if (size !== entry.size) throw sizeMismatch(source, [sizeProblem(entry, size)]);
        if (sha256 !== entry.sha256) throw checksumMismatch(source, entry, entry.sha256, sha256);
      }
    },
    async extractPackage(entry, destDir) {
      // Extract from the verified bytes, not the file, so nothing can swap it in between.
      const data = await readBlob(entry);
      await safeExtract(data, destDir, { label: `${source}!${IMAGE_LAYOUT.blobs}/${entry.sha256.slice(0, 12)} (${locatorOf(entry)})` });
    },
    close,
  };
}
