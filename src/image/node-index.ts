/**
 * Pure helpers for a node's package store index (`<nodeStateDir>/packages/index.json`). The agent
 * reads the file, applies one of these, and writes the result atomically; nothing here touches
 * the disk. Every helper returns a new index with packages sorted by name and version, so the
 * file is written the same way whatever the order of operations. Labels follow Gravity's:
 * `installed: installed` on what the node runs, `purpose: runtime`, `operation-id: <id>` on what
 * an operation brought (so a rollback can remove exactly that).
 */
import { posix } from 'node:path';
import { StateError } from '../errors.js';
import { locatorOf, type PackageRef } from '../plan/names.js';
import { comparePackages, LABEL, type PackageEntry, type PackageIndex, PackageIndexSchema } from './schema.js';

/** Paths of a node's package store under `nodeStateDir` (POSIX: they name files on nodes). */
export function nodeStorePaths(nodeStateDir: string) {
  const root = posix.join(nodeStateDir, 'packages');
  return {
    root,
    index: posix.join(root, 'index.json'),
    blobs: posix.join(root, 'blobs'),
    blob: (sha256: string) => posix.join(root, 'blobs', sha256),
    unpacked: (ref: PackageRef) => posix.join(root, 'unpacked', ref.name, ref.version),
  };
}

/** An index with no packages. */
export function emptyIndex(): PackageIndex {
  return { packages: [] };
}

function sorted(packages: PackageEntry[]): PackageIndex {
  return { packages: packages.sort(comparePackages) };
}

function same(a: PackageRef, b: PackageRef): boolean {
  return a.name === b.name && a.version === b.version;
}

/** The entry of `ref`, if indexed. */
export function findPackage(index: PackageIndex, ref: PackageRef): PackageEntry | undefined {
  return index.packages.find((p) => same(p, ref));
}

/** Adds `entry` (replacing the same name:version) with its labels plus `labels`. */
export function addPackage(index: PackageIndex, entry: PackageEntry, labels: Record<string, string> = {}): PackageIndex {
  const rest = index.packages.filter((p) => !same(p, entry));
  return sorted([...rest, { ...entry, labels: { ...entry.labels, ...labels } }]);
}

/** Removes `ref`; an absent package is not an error (removal is idempotent). */
export function removePackage(index: PackageIndex, ref: PackageRef): PackageIndex {
  return sorted(index.packages.filter((p) => !same(p, ref)));
}

/**
 * Merges `labels` into the labels of `ref`; a `null` value deletes that key. Labelling a
 * package that is not in the index is a StateError: the caller's view of the node is wrong.
 */
export function setLabels(index: PackageIndex, ref: PackageRef, labels: Record<string, string | null>): PackageIndex {
  if (!findPackage(index, ref)) {
    throw new StateError('ERR_PACKAGE_NOT_INDEXED', `package ${locatorOf(ref)} is not in the node's package index`, {
      hint: 'install the package on the node before labelling it',
    });
  }
  return sorted(
    index.packages.map((p) => {
      if (!same(p, ref)) return p;
      const next = { ...p.labels };
      for (const [key, value] of Object.entries(labels)) {
        if (value === null) delete next[key];
        else next[key] = value;
      }
      return { ...p, labels: next };
    }),
  );
}

/**
 * Marks `ref` as the installed version of its package and un-marks every other version of the
 * same name, so exactly one runtime is `installed` after a switch (and after its rollback).
 */
export function markInstalled(index: PackageIndex, ref: PackageRef): PackageIndex {
  const cleared: PackageIndex = {
    packages: index.packages.map((p) => {
      if (p.name !== ref.name || same(p, ref) || !Object.hasOwn(p.labels, LABEL.installed)) return p;
      const { [LABEL.installed]: _dropped, ...rest } = p.labels;
      return { ...p, labels: rest };
    }),
  };
  return setLabels(cleared, ref, { [LABEL.installed]: LABEL.installed });
}

/** The installed version of package `name`, if any. */
export function installedVersion(index: PackageIndex, name: string): PackageEntry | undefined {
  return index.packages.find((p) => p.name === name && p.labels[LABEL.installed] === LABEL.installed);
}

/** Parses index.json text; `file` names it in the StateError raised for a damaged index. */
export function parseNodeIndex(text: string, file: string): PackageIndex {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new StateError('ERR_PACKAGE_INDEX_INVALID', `${file}: not valid JSON (${(err as Error).message})`, {
      hint: 'restore the file from the node backup or reinstall the packages',
      cause: err,
    });
  }
  const parsed = PackageIndexSchema.safeParse(value);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
    throw new StateError('ERR_PACKAGE_INDEX_INVALID', `${file}: invalid package index: ${issues}`, {
      hint: 'restore the file from the node backup or reinstall the packages',
    });
  }
  return sorted(parsed.data.packages);
}

/** index.json text: sorted, two-space indented, newline-terminated. */
export function serializeIndex(index: PackageIndex): string {
  return `${JSON.stringify(sorted([...index.packages]), null, 2)}\n`;
}
