/**
 * Where hoist's own files are (package.json, bin/hoist, dist/, fixtures/). Found by walking up
 * from this module rather than by a fixed relative path, so that it holds from the TypeScript
 * source, from the compiled tree and from the single-file CLI bundle alike.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

let cached: string | undefined;

/** The directory of hoist's package.json; undefined when there is none above this module. */
export function packageRoot(): string | undefined {
  if (cached) return cached;
  const start = path.dirname(fileURLToPath(import.meta.url));
  for (let current = start; ; current = path.dirname(current)) {
    const file = path.join(current, 'package.json');
    if (existsSync(file) && isHoist(file)) {
      cached = current;
      return current;
    }
    if (path.dirname(current) === current) return undefined;
  }
}

/** `segments` under the package root (under this module's directory when there is no root). */
export function packagePath(...segments: string[]): string {
  return path.join(packageRoot() ?? path.dirname(fileURLToPath(import.meta.url)), ...segments);
}

function isHoist(file: string): boolean {
  try {
    return (JSON.parse(readFileSync(file, 'utf8')) as { name?: unknown }).name === 'hoist';
  } catch {
    return false;
  }
}
