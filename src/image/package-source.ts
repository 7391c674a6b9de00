/**
 * Reads the package folders of an image source tree (`packages/<name>-<version>/package.yaml`)
 * and works out which packages the manifest requires. Every folder is checked before anything
 * is packed, and all problems of all folders are reported together.
 */
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { check, invalidInput, type Problem } from '../config/problems.js';
import type { ImageManifest } from '../config/schema.js';
import { locate, readYaml } from '../config/yaml-source.js';
import { InputError } from '../errors.js';
import { locatorOf, type PackageRef, readLocator } from '../plan/names.js';
import { type PackageManifest, PackageManifestSchema } from './schema.js';

const HINT = 'fix the listed package.yaml fields (or folder names) and build the image again';

/** One package folder of an image source. */
export interface PackageSource {
  /** Absolute folder path. */
  dir: string;
  /** Folder name under packages/. */
  folder: string;
  manifest: PackageManifest;
}

/** A package the manifest needs, and the manifest field that names it. */
export interface RequiredPackage extends PackageRef {
  field: string;
}

/** Packages an image must carry: the runtime, the OS image, intermediate runtimes, system apps, app dependencies and the app itself. */
export function requiredPackages(manifest: ImageManifest): RequiredPackage[] {
  const out: RequiredPackage[] = [];
  const add = (locator: string, field: string): void => {
    const ref = readLocator(locator);
    if (ref) out.push({ ...ref, field });
  };
  add(manifest.spec.runtime.package, 'spec.runtime.package');
  if (manifest.spec.os) add(manifest.spec.os.package, 'spec.os.package');
  for (const [i, hop] of manifest.spec.upgradeVia.entries()) add(hop.runtime.package, `spec.upgradeVia.${i}.runtime.package`);
  for (const [i, l] of manifest.spec.systemApps.entries()) add(l, `spec.systemApps.${i}`);
  for (const [i, l] of manifest.spec.appDependencies.entries()) add(l, `spec.appDependencies.${i}`);
  add(`${manifest.metadata.name}:${manifest.metadata.version}`, 'metadata (the app itself)');
  return out;
}

/** Folder name a package is expected in. */
export function packageFolder(ref: PackageRef): string {
  return `${ref.name}-${ref.version}`;
}

async function readOne(dir: string, folder: string): Promise<PackageManifest> {
  const file = join(dir, 'package.yaml');
  const source = await readYaml(file, 'package manifest', HINT);
  const result = check(PackageManifestSchema, source.data);
  const problems: Problem[] = result.ok ? [] : result.problems;
  if (result.ok && folder !== packageFolder(result.value.metadata)) {
    problems.push({ path: ['metadata'], message: `folder "${folder}" must be named "${packageFolder(result.value.metadata)}"` });
  }
  if (problems.length > 0 || !result.ok) throw invalidInput(file, locate(source, problems), HINT);
  return result.value;
}

/** Reads and validates every folder under `<srcDir>/packages`; none when there is no such folder. */
export async function readPackageSources(srcDir: string): Promise<PackageSource[]> {
  const root = join(srcDir, 'packages');
  const dirents = await readdir(root, { withFileTypes: true }).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return [];
    throw err;
  });
  const sources: PackageSource[] = [];
  const details: string[] = [];
  const seen = new Map<string, string>();
  for (const dirent of [...dirents].sort((a, b) => (a.name < b.name ? -1 : 1))) {
    if (dirent.name.startsWith('.')) continue;
    const dir = join(root, dirent.name);
    if (!dirent.isDirectory()) {
      details.push(`${dir}: expected a package folder with a package.yaml`);
      continue;
    }
    try {
      const manifest = await readOne(dir, dirent.name);
      const locator = locatorOf(manifest.metadata);
      const other = seen.get(locator);
      if (other !== undefined) details.push(`${dir}: package ${locator} is also in ${other}`);
      seen.set(locator, dir);
      sources.push({ dir, folder: dirent.name, manifest });
    } catch (err) {
      if (!(err instanceof InputError)) throw err;
      details.push(...(err.details.length > 0 ? err.details : [err.message]));
    }
  }
  if (details.length > 0) {
    throw new InputError(
      'ERR_IMAGE_PACKAGE_INVALID',
      `${root}: ${details.length} problem${details.length === 1 ? '' : 's'} in package folders`,
      {
        hint: HINT,
        details,
      },
    );
  }
  return sources;
}
