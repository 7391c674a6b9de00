/**
 * The hooks of the packages in a node's store, as the agent reads them (package-store.ts writes
 * the store; src/image/node-index.ts owns its index):
 *
 *   <stateDir>/packages/unpacked/<name>/<version>/package.yaml   the package manifest
 *   <stateDir>/packages/unpacked/<name>/<version>/...            the unpacked package content
 *
 * `package.yaml` declares the hooks the agent may run (`exec.hook`), each with its command and a
 * timeout:
 *
 *   hooks:
 *     install: { run: ["./bin/install", "--quiet"], timeoutSeconds: 120 }
 *     health:  { run: "curl -fsS http://127.0.0.1:8080/healthz" }   # a string runs with /bin/sh -c
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { isErrno } from '../../durable-files.js';
import { type PackageRef, readLocator } from '../../plan/names.js';
import { actionError } from '../errors.js';
import { describeIssues } from '../protocol.js';

/** A hook runs for at most this long unless its manifest says otherwise (Gravity's phase default). */
const DEFAULT_HOOK_TIMEOUT_SECONDS = 3600;

/** `name:version` of an installed package. */
export const packageRefSchema = z.string().transform((value, ctx): PackageRef => {
  const ref = readLocator(value);
  if (ref) return ref;
  ctx.addIssue({ code: 'custom', message: 'expected "name:version" with a semver version' });
  return z.NEVER;
});

/** One hook of `package.yaml`. */
const hookSchema = z.object({
  run: z.union([z.string().min(1), z.array(z.string()).min(1)]),
  timeoutSeconds: z.number().positive().default(DEFAULT_HOOK_TIMEOUT_SECONDS),
});
export type Hook = z.output<typeof hookSchema>;
const manifestSchema = z.looseObject({ hooks: z.record(z.string(), hookSchema).default({}) });

/** Directory of an unpacked package. */
export function packageDir(stateDir: string, ref: PackageRef): string {
  return path.join(stateDir, 'packages', 'unpacked', ref.name, ref.version);
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
