/** Enforces the layering of architecture §2 by scanning imports. */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = join(import.meta.dirname, '..', '..', 'src');

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const full = join(dir, name);
    return statSync(full).isDirectory() ? files(full) : full.endsWith('.ts') ? [full] : [];
  });
}

function imports(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  return [...text.matchAll(/^\s*import\s+(?:type\s+)?[^'"]*['"]([^'"]+)['"]/gm), ...text.matchAll(/import\(\s*['"]([^'"]+)['"]\s*\)/g)].map(
    (m) => m[1]!,
  );
}

const all = files(root).map((f) => ({ file: relative(root, f), imports: imports(f) }));

describe('architecture', () => {
  it('keeps src/plan pure: no node: modules, no store, no fsm, no cli', () => {
    const bad = all
      .filter((f) => f.file.startsWith('plan/'))
      .flatMap((f) =>
        f.imports
          .filter((i) => i.startsWith('node:') || /\/(store|fsm|cli|ssh|agent)\//.test(i) || i === 'execa' || i === 'ssh2')
          .map((i) => `${f.file} imports ${i}`),
      );
    expect(bad).toEqual([]);
  });

  it('lets the engine reach executors only through the registry, never phases/ssh/agent directly', () => {
    const bad = all
      .filter((f) => f.file.startsWith('fsm/'))
      .flatMap((f) =>
        f.imports.filter((i) => /\/(phases|ssh|agent|cli|operation)\//.test(i) || i === 'ssh2').map((i) => `${f.file} imports ${i}`),
      );
    expect(bad).toEqual([]);
  });

  it('keeps workflows (src/operation) free of the CLI, which calls them', () => {
    const bad = all
      .filter((f) => f.file.startsWith('operation/'))
      .flatMap((f) => f.imports.filter((i) => /\/cli\//.test(i) || i === 'commander').map((i) => `${f.file} imports ${i}`));
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
