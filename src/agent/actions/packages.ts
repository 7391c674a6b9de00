/**
 * The node package store as the agent reads it. This is the minimal layout the agent relies on;
 * the code that installs packages writes it:
 *
 *   <stateDir>/packages/index.json                               {"packages": [{"name", "version", ...}]}
 *   <stateDir>/packages/unpacked/<name>/<version>/package.yaml   the package manifest
 *   <stateDir>/packages/unpacked/<name>/<version>/...            the unpacked package content
 *
 * `package.yaml` declares the hooks the agent may run (`exec.hook`), each with its command and a
 * timeout:
 *
 *   hooks:
 *     install: { run: ["./bin/install", "--quiet"], timeoutSeconds: 120 }
 *     health:  { run: "curl -fsS http://127.0.0.1:8080/healthz" }   # a string runs with /bin/sh -c
 *
 * Index entries keep any other fields (sha256, labels) for the callers that need them.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { isErrno } from '../../store/files.js';
import { actionError } from '../errors.js';
import { describeIssues } from '../protocol.js';

/** A hook runs for at most this long unless its manifest says otherwise (Gravity's phase default). */
export const DEFAULT_HOOK_TIMEOUT_SECONDS = 3600;

// Names and versions become path segments, so neither may contain a slash or start with a dot.
const segment = /^[A-Za-z0-9][A-Za-z0-9._+-]*$/;

/** `name:version` of an installed package. */
export const packageRefSchema = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9._+-]*:[A-Za-z0-9][A-Za-z0-9._+-]*$/, 'expected "name:version"')
  .transform((ref) => {
    const colon = ref.indexOf(':');
    return { name: ref.slice(0, colon), version: ref.slice(colon + 1) };
  });
export type PackageRef = z.output<typeof packageRefSchema>;

/** One entry of `packages/index.json`. */
export const packageEntrySchema = z.looseObject({ name: z.string().regex(segment), version: z.string().regex(segment) });
export type PackageEntry = z.infer<typeof packageEntrySchema>;
const indexSchema = z.looseObject({ packages: z.array(packageEntrySchema) });

/** One hook of `package.yaml`. */
export const hookSchema = z.object({
  run: z.union([z.string().min(1), z.array(z.string()).min(1)]),
  timeoutSeconds: z.number().positive().default(DEFAULT_HOOK_TIMEOUT_SECONDS),
});
export type Hook = z.output<typeof hookSchema>;
const manifestSchema = z.looseObject({ hooks: z.record(z.string(), hookSchema).default({}) });

/** Directory of an unpacked package. */
export function packageDir(stateDir: string, ref: PackageRef): string {
  return path.join(stateDir, 'packages', 'unpacked', ref.name, ref.version);
}

/** Installed packages from the index; none when the store has no index yet. */
export async function readPackageIndex(stateDir: string): Promise<PackageEntry[]> {
  const file = path.join(stateDir, 'packages', 'index.json');
  let text: string;
  try {
    text = await fs.readFile(file, 'utf8');
  } catch (err) {
    if (isErrno(err, 'ENOENT')) return [];
    throw err;
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw actionError(
      'ERR_AGENT_PACKAGE_INDEX',
      `${file} is not valid JSON (${(err as Error).message})`,
      'reinstall the packages or repair the file',
    );
  }
  const parsed = indexSchema.safeParse(value);
  if (!parsed.success) {
    throw actionError(
      'ERR_AGENT_PACKAGE_INDEX',
      `${file} is invalid: ${describeIssues(parsed.error).join('; ')}`,
      'reinstall the packages or repair the file',
    );
  }
  return parsed.data.packages;
}

/** The hook `hook` of package `ref`; ERR_HOOK_NOT_FOUND when the package or the hook is missing. */
export async function findHook(stateDir: string, ref: PackageRef, hook: string): Promise<{ dir: string; hook: Hook }> {
  const dir = packageDir(stateDir, ref);
  const file = path.join(dir, 'package.yaml');
  const label = `${ref.name}:${ref.version}`;
  let text: string;
  try {
    text = await fs.readFile(file, 'utf8');
  } catch (err) {
    if (isErrno(err, 'ENOENT') || isErrno(err, 'ENOTDIR')) {
      throw actionError(
        'ERR_HOOK_NOT_FOUND',
        `package ${label} is not unpacked on this node (no ${file})`,
        'install the package on the node first',
      );
    }
    throw err;
  }
  let manifest: z.output<typeof manifestSchema>;
  try {
    const parsed = manifestSchema.safeParse(parseYaml(text));
    if (!parsed.success) throw new Error(describeIssues(parsed.error).join('; '));
    manifest = parsed.data;
  } catch (err) {
    throw actionError(
      'ERR_HOOK_MANIFEST',
      `${file} is invalid: ${(err as Error).message}`,
      'fix the package manifest and rebuild the package',
    );
  }
  const found = Object.hasOwn(manifest.hooks, hook) ? manifest.hooks[hook] : undefined;
  if (!found) {
    const known = Object.keys(manifest.hooks);
    throw actionError(
      'ERR_HOOK_NOT_FOUND',
      `package ${label} has no hook "${hook}" (it declares: ${known.length ? known.join(', ') : 'none'})`,
      `check the hook name, or add "${hook}" under hooks in ${file}`,
    );
  }
  return { dir, hook: found };
}
