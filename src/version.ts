/** The version of this hoist, from package.json (the agent bundle gets it stamped in at build time). */
import { readFileSync } from 'node:fs';
import { packagePath } from './package-root.js';

let cached: string | undefined;

/** `0.1.0`-style version; `0.0.0` if package.json cannot be read. */
export function hoistVersion(): string {
  if (cached) return cached;
  try {
    cached = (JSON.parse(readFileSync(packagePath('package.json'), 'utf8')) as { version: string }).version;
  } catch {
    cached = '0.0.0';
  }
  return cached;
}
