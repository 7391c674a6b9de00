/**
 * Builds a cluster image from its source tree. Source: `app.yaml`, `hooks/…`,
 * `packages/<name>-<version>/package.yaml` (+ files). Built: the same top-level files, plus
 * `packages/index.json` and `packages/blobs/<sha256>` (one deterministic .tar.gz per package).
 * The output is a directory, or a deterministic `.tar`/`.tar.gz`/`.tgz` of one (chosen by the
 * name of `outFile`). Everything is checked before anything is packed.
 */
import { copyFile, mkdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { isArchivePath } from '../config/archive.js';
import { resolveImageArg } from '../config/load.js';
import type { ImageManifest } from '../config/schema.js';
import { InputError } from '../errors.js';
import { locatorOf } from '../plan/names.js';
import { checkBuildOutput } from './build-output.js';
import { listTree, writeTree } from './deterministic-tar.js';
import { packageMissing } from './errors.js';
import { replaceDir, siblingTemp } from './fs-util.js';
import { type PackageSource, packageFolder, readPackageSources, requiredPackages } from './package-source.js';
import { comparePackages, type PackageEntry, type PackageIndex } from './schema.js';
import { type Intermediate, readIntermediates, recordIntermediates, withIntermediates } from './upgrade-via.js';

/** Where a built image's index and blobs live, relative to the image root. */
export const IMAGE_LAYOUT = { index: 'packages/index.json', blobs: 'packages/blobs' } as const;

/** What {@link buildImage} produced. */
export interface BuiltImage {
  /** The directory or archive written. */
  path: string;
  manifest: ImageManifest;
  index: PackageIndex;
  /** Digest of the archive, when the output is one. */
  sha256?: string;
}

async function exists(path: string): Promise<boolean> {
  return (await stat(path).catch(() => undefined)) !== undefined;
}

async function checkSource(srcDir: string): Promise<void> {
  const info = await stat(srcDir).catch(() => undefined);
  if (!info?.isDirectory()) {
    throw new InputError('ERR_IMAGE_SOURCE', `${srcDir}: not an image source directory`, {
      hint: 'pass the directory that holds app.yaml, hooks/ and packages/',
    });
  }
  if (await exists(join(srcDir, IMAGE_LAYOUT.index))) {
    throw new InputError('ERR_IMAGE_ALREADY_BUILT', `${srcDir}: is already a built image (it has ${IMAGE_LAYOUT.index})`, {
      hint: 'use the directory as it is, or build from the source tree',
    });
  }
}

/** Refuses a source whose manifest names packages that have no folder. */
function checkRequired(srcDir: string, manifest: ImageManifest, sources: readonly PackageSource[]): void {
  const have = new Set(sources.map((s) => locatorOf(s.manifest.metadata)));
  const missing = requiredPackages(manifest).filter((r) => !have.has(locatorOf(r)));
  if (missing.length === 0) return;
  throw packageMissing(
    srcDir,
    `app.yaml names ${missing.length} package${missing.length === 1 ? '' : 's'} with no folder under packages/: ${missing.map(locatorOf).join(', ')}`,
    missing.map((m) => `${join(srcDir, 'packages', packageFolder(m), 'package.yaml')}: missing (${locatorOf(m)}, named by ${m.field})`),
  );
}

/** Copies every top-level file and folder except packages/ and dotfiles. */
async function copyTopLevel(srcDir: string, stage: string): Promise<void> {
  const skip = (rel: string): boolean => rel === 'packages' || rel.split('/').some((s) => s.startsWith('.'));
  for (const entry of await listTree(srcDir, skip)) {
    const dest = join(stage, entry.rel);
    if (entry.type === 'Directory') await mkdir(dest, { recursive: true });
    else await copyFile(entry.abs, dest);
  }
}

/** Packs each package into blobs/ and returns the index, sorted by name and version. */
async function packBlobs(sources: readonly PackageSource[], stage: string): Promise<PackageIndex> {
  const blobs = join(stage, IMAGE_LAYOUT.blobs);
  await mkdir(blobs, { recursive: true });
  const packages: PackageEntry[] = [];
  for (const source of sources) {
    const pending = join(blobs, `.pending-${source.folder}`);
    const { sha256, size } = await writeTree(source.dir, pending, { gzip: true });
    await rename(pending, join(blobs, sha256));
    const { name, version } = source.manifest.metadata;
    packages.push({ name, version, sha256, size, labels: { ...source.manifest.labels } });
  }
  return { packages: packages.sort(comparePackages) };
}

/** Options of {@link buildImage}. */
export interface BuildOptions {
  /** Replace `outFile` when it holds an earlier build output (never anything else). */
  force?: boolean;
  /** Directory the output may never be or contain (default: the process's working directory). */
  cwd?: string;
  /** Older images of the application whose runtimes the image embeds as intermediate versions. */
  upgradeVia?: readonly string[];
}

/** Adds the intermediate runtimes the source does not already carry, keeping the index sorted. */
async function addIntermediateBlobs(intermediates: readonly Intermediate[], stage: string, index: PackageIndex): Promise<void> {
  for (const { entry, blob } of intermediates) {
    if (index.packages.some((p) => locatorOf(p) === locatorOf(entry))) continue;
    await writeFile(join(stage, IMAGE_LAYOUT.blobs, entry.sha256), blob);
    index.packages.push(entry);
  }
  index.packages.sort(comparePackages);
}

/** Builds the image in `srcDir` into `outFile` (a directory, or an archive by its suffix). */
export async function buildImage(srcDir: string, outFile: string, options: BuildOptions = {}): Promise<BuiltImage> {
  await checkBuildOutput(srcDir, outFile, options);
  await checkSource(srcDir);
  const { manifest: source } = await resolveImageArg(srcDir);
  const sources = await readPackageSources(srcDir);
  checkRequired(srcDir, source, sources);
  const intermediates = await readIntermediates(options.upgradeVia ?? [], source);
  const manifest = intermediates.length > 0 ? withIntermediates(source, intermediates) : source;

  const archive = isArchivePath(outFile);
  const stage = siblingTemp(outFile, 'build');
  try {
    await mkdir(stage, { recursive: true });
    await copyTopLevel(srcDir, stage);
    const index = await packBlobs(sources, stage);
    if (intermediates.length > 0) {
      await recordIntermediates(stage, manifest);
      await addIntermediateBlobs(intermediates, stage, index);
    }
    await writeFile(join(stage, IMAGE_LAYOUT.index), `${JSON.stringify(index, null, 2)}\n`);
    if (!archive) {
      await replaceDir(stage, outFile);
      return { path: outFile, manifest, index };
    }
    const gzip = !outFile.toLowerCase().endsWith('.tar');
    const written = await writeTree(stage, outFile, { gzip });
    await rm(stage, { recursive: true, force: true });
    return { path: outFile, manifest, index, sha256: written.sha256 };
  } catch (err) {
    await rm(stage, { recursive: true, force: true });
    throw err;
  }
}
