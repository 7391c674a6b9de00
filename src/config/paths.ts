/** Path helpers for user-written file references (identity files, known_hosts, includes). */
import { homedir } from 'node:os';
import { isAbsolute, join, resolve } from 'node:path';

/** Expands a leading `~` or `~/` to the home directory; `~user` forms are left alone. */
export function expandHome(path: string, home: string = homedir()): string {
  if (path === '~') return home;
  if (path.startsWith('~/')) return join(home, path.slice(2));
  return path;
}

/** Expands `~`, then makes a relative path relative to `baseDir` (the referencing file's folder). */
export function resolveFrom(baseDir: string, path: string, home?: string): string {
  const expanded = expandHome(path, home);
  return isAbsolute(expanded) ? expanded : resolve(baseDir, expanded);
}

/** Joins a relative reference onto the referencing file's folder, keeping it relative if that was. */
export function referencePath(baseDir: string, path: string): string {
  const expanded = expandHome(path);
  return isAbsolute(expanded) ? expanded : join(baseDir, expanded);
}
