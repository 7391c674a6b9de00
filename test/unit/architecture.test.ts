/** Enforces the layering of architecture §2 by scanning imports. */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = join(import.meta.dirname, '..', '..', 'src');

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const full = join(dir, name);
    return statSync(full).isDirectory() ? files(full) : full.endsWith('.ts') ? [full] : [];
  });
}

/** Every module specifier of `file`: static imports, `export … from`, side-effect imports and dynamic `import()`. */
function imports(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  return [
    ...text.matchAll(/^\s*(?:import|export)\s+(?:type\s+)?[^'";]*?\sfrom\s+['"]([^'"]+)['"]/gm),
    ...text.matchAll(/^\s*import\s+['"]([^'"]+)['"]/gm),
    ...text.matchAll(/import\(\s*['"]([^'"]+)['"]\s*\)/g),
  ].map((m) => m[1]!);
}

/** The folder (or root file) a path below src/ belongs to: `plan`, `errors.ts`, ... */
function unitOf(rel: string): string {
  return rel.split('/')[0]!;
}

const ALL = [
  'agent',
  'bench',
  'cli',
  'cluster',
  'config',
  'fsm',
  'image',
  'kube',
  'log',
  'operation',
  'phases',
  'plan',
  'sandbox',
  'ssh',
  'store',
];
const ROOT_FILES = [
  'durable-files.ts',
  'errors.ts',
  'etcd3-client.ts',
  'human-size.ts',
  'package-root.ts',
  'process-group.ts',
  'text.ts',
  'version.ts',
];
const everything = [...ALL, ...ROOT_FILES];

/**
 * What each folder of src/ (and each module at its root) may import: a folder, a root module, or
 * one file of a folder (`store/store.ts`: the Store interface without its JSON internals). A
 * folder that is not listed fails the test, so a new folder has to say where it sits.
 */
const MAY_IMPORT: Record<string, string[]> = {
  'errors.ts': [],
  'package-root.ts': [],
  'etcd3-client.ts': [],
  'version.ts': ['package-root.ts'],
  'human-size.ts': [],
  'text.ts': [],
  'process-group.ts': ['errors.ts'],
  // Store files are read within the input limits (config/limits.ts, config/read-input.ts).
  'durable-files.ts': ['errors.ts', 'config'],
  log: [],
  plan: ['errors.ts'],
  fsm: ['errors.ts', 'plan', 'store/store.ts'],
  store: ['errors.ts', 'durable-files.ts', 'etcd3-client.ts', 'plan'],
  // config → image (archive-scan.ts) closes a cycle with image → config; it should move to one side.
  config: ['errors.ts', 'text.ts', 'plan', 'image'],
  ssh: ['errors.ts'],
  kube: ['errors.ts', 'process-group.ts'],
  image: ['errors.ts', 'human-size.ts', 'config', 'plan'],
  // The node side: no cli, cluster, fsm, store or config (the bundle that `agent deploy` uploads).
  agent: ['errors.ts', 'durable-files.ts', 'package-root.ts', 'process-group.ts', 'image', 'kube', 'plan', 'ssh'],
  cluster: ['errors.ts', 'agent', 'config', 'ssh'],
  phases: ['errors.ts', 'human-size.ts', 'agent', 'cluster', 'fsm', 'image', 'kube', 'plan', 'store/store.ts'],
  sandbox: ['errors.ts', 'etcd3-client.ts', 'version.ts', 'package-root.ts', 'durable-files.ts', 'agent', 'image', 'phases', 'plan', 'ssh'],
  operation: everything.filter((u) => u !== 'cli' && u !== 'bench' && u !== 'operation'),
  cli: everything.filter((u) => u !== 'bench' && u !== 'cli'),
  bench: everything.filter((u) => u !== 'bench'),
};

/** npm packages a folder may import when it may not import any; plan stays pure. */
const PACKAGES_ONLY: Record<string, string[]> = { plan: ['semver', 'zod'] };

/** npm packages a folder must not import: the engine reaches nodes only through executors, workflows know no CLI. */
const PACKAGES_NEVER: Record<string, string[]> = { fsm: ['ssh2', 'execa'], operation: ['commander'] };

const all = files(root).map((f) => ({ file: relative(root, f), imports: imports(f) }));

describe('architecture', () => {
  it('lists every folder and root module of src/ in the layering allowlist', () => {
    const units = [...new Set(all.map((f) => unitOf(f.file)))];
    expect(units.filter((u) => !(u in MAY_IMPORT))).toEqual([]);
  });

  it('imports across folders only what the allowlist names (imports, export … from, import())', () => {
    const bad = all.flatMap((f) => {
      const from = unitOf(f.file);
      const allowed = MAY_IMPORT[from] ?? [];
      return f.imports
        .filter((spec) => spec.startsWith('.'))
        .map((spec) => relative(root, resolve(dirname(join(root, f.file)), spec)).replace(/\.js$/, '.ts'))
        .filter((target) => unitOf(target) !== from && !allowed.includes(unitOf(target)) && !allowed.includes(target))
        .map((target) => `${f.file} imports ${target}`);
    });
    expect(bad).toEqual([]);
  });

  it('keeps the pure folders free of I/O packages, the engine free of SSH and workflows free of commander', () => {
    const bad = all.flatMap((f) => {
      const only = PACKAGES_ONLY[unitOf(f.file)];
      const never = PACKAGES_NEVER[unitOf(f.file)] ?? [];
      return f.imports
        .filter((spec) => !spec.startsWith('.') && ((only && !only.includes(spec)) || never.includes(spec)))
        .map((spec) => `${f.file} imports ${spec}`);
    });
    expect(bad).toEqual([]);
  });

  it('touches process.argv, process.exitCode and stdout only in src/cli', () => {
    const bad = files(root)
      .filter(
        (f) =>
          !relative(root, f).startsWith('cli/') && !relative(root, f).startsWith('bench/') && !relative(root, f).startsWith('agent/main'),
      )
      // Template literals hold code that runs elsewhere (remote relays), so they are not scanned.
      .filter((f) =>
        /(?<![\w.])process\.(argv|exitCode|exit\(|stdout)|(?<![\w.])console\./.test(readFileSync(f, 'utf8').replace(/`[^`]*`/g, '``')),
      )
      .map((f) => relative(root, f));
    expect(bad).toEqual([]);
  });

  it('keeps files small (under 400 lines)', () => {
    const big = files(root)
      .map((f) => ({ f: relative(root, f), n: readFileSync(f, 'utf8').split('\n').length }))
      .filter((x) => x.n > 400);
    expect(big).toEqual([]);
  });
});
