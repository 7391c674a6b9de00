/**
 * zod schemas of the image's package documents: `package.yaml` in a package source folder and
 * `packages/index.json` in a built image (the node package store uses the same index shape).
 * package.yaml is strict so a misspelt key is reported instead of silently ignored.
 */
import semver from 'semver';
import * as z from 'zod';
import { showValue } from '../config/problems.js';
import { isPackageName, isSemver, type PackageRef } from '../plan/names.js';

/** Well-known label keys of packages in an image and in a node's store. */
export const LABEL = {
  purpose: 'purpose',
  installed: 'installed',
  operationId: 'operation-id',
  intermediate: 'intermediate-upgrade',
} as const;

function expecting(what: string) {
  return (issue: { input?: unknown }): string =>
    issue.input === undefined ? `required: expected ${what}` : `expected ${what}, got ${showValue(issue.input)}`;
}

function checkedString(what: string, test: (value: string) => boolean) {
  return z.string({ error: expecting(what) }).refine(test, { error: expecting(what) });
}

const SHA256 = /^[0-9a-f]{64}$/;

const packageName = checkedString('a package name (lowercase letters, digits, ".", "_" and "-")', isPackageName);
const packageVersion = checkedString('a semver version like 7.0.30', isSemver);
const labels = z.record(z.string(), z.string({ error: expecting('a string label value') }), {
  error: expecting('a mapping of label names to strings'),
});

/** One hook the node agent may run (`exec.hook`): a shell string or an argv list. */
const PackageHookSchema = z.strictObject({
  run: z.union([z.string().min(1), z.array(z.string()).min(1)], { error: expecting('a command string or a list of arguments') }),
  timeoutSeconds: z
    .number({ error: expecting('a positive number of seconds') })
    .positive()
    .optional(),
});

/** `package.yaml` at the top of every package. */
export const PackageManifestSchema = z.strictObject({
  apiVersion: z.literal('hoist/v1', { error: expecting('"hoist/v1"') }),
  kind: z.literal('Package', { error: expecting('"Package"') }),
  metadata: z.strictObject({ name: packageName, version: packageVersion }),
  labels: labels.default({}),
  hooks: z.record(z.string(), PackageHookSchema, { error: expecting('a mapping of hook names to { run, timeoutSeconds }') }).default({}),
});

/** One entry of an index: which blob holds the package, and its labels. */
const PackageEntrySchema = z.strictObject({
  name: packageName,
  version: packageVersion,
  sha256: checkedString('a lowercase hex sha256 digest', (v) => SHA256.test(v)),
  size: z.int().min(0),
  labels: labels.default({}),
});

/** `packages/index.json` of a built image, and `<nodeStateDir>/packages/index.json` on a node. */
export const PackageIndexSchema = z.strictObject({ packages: z.array(PackageEntrySchema) });

/** A validated package.yaml with defaults applied. */
export type PackageManifest = z.output<typeof PackageManifestSchema>;
/** One index entry. */
export type PackageEntry = z.output<typeof PackageEntrySchema>;
/** A package index. */
export type PackageIndex = z.output<typeof PackageIndexSchema>;
/** Orders packages by name, then by semver version, so every index is written the same way. */
export function comparePackages(a: PackageRef, b: PackageRef): number {
  if (a.name !== b.name) return a.name < b.name ? -1 : 1;
  const valid = semver.valid(a.version) && semver.valid(b.version);
  if (valid) return semver.compare(a.version, b.version);
  return a.version === b.version ? 0 : a.version < b.version ? -1 : 1;
}
