/**
 * Where `image build --out` may write. A build replaces its output, so the output must never be
 * anything the build did not make: not the source tree or a folder holding it, not the working
 * directory, not an unrelated file or folder. Only an earlier build output may be replaced, and
 * only when asked to (`--force`).
 */
import { lstat } from 'node:fs/promises';
import path from 'node:path';
import * as tar from 'tar';
import { UsageError } from '../errors.js';

const INDEX = 'packages/index.json';

/** True when `inner` is `outer` or lies below it. */
function within(inner: string, outer: string): boolean {
  const rel = path.relative(outer, inner);
  return rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel));
}

async function isRegularFile(file: string): Promise<boolean> {
  return (await lstat(file).catch(() => undefined))?.isFile() ?? false;
}

/** True when the archive lists a build index at its root or under one top-level folder. */
async function archiveIsBuildOutput(file: string): Promise<boolean> {
  let found = false;
  try {
    await tar.t({
      file,
      // A header pass only: bodies are skipped, so a large archive is never held in memory.
      filter: (name) => {
        const clean = name.replace(/^(\.\/)+/, '');
        if (clean === INDEX || /^[^/]+\/packages\/index\.json$/.test(clean)) found = true;
        return false;
      },
    });
  } catch {
    // An unreadable archive is not a build output.
  }
  return found;
}

function refuse(out: string, why: string, hint: string): UsageError {
  return new UsageError('ERR_IMAGE_OUT_REFUSED', `--out ${out}: ${why}`, { hint });
}

const PICK = 'pass a new path for --out, e.g. ./build/image.tar.gz';

/**
 * Refuses an output path that would destroy something the build did not create; returns
 * normally when `out` does not exist or is an earlier build output and `force` is set.
 */
export async function checkBuildOutput(src: string, out: string, options: { force?: boolean; cwd?: string } = {}): Promise<void> {
  const cwd = path.resolve(options.cwd ?? process.cwd());
  if (within(src, out)) {
    throw refuse(out, out === src ? 'is the image source directory' : `holds the image source directory ${src}`, PICK);
  }
  if (within(cwd, out)) throw refuse(out, 'is the current directory or one of its parents', PICK);
  const info = await lstat(out).catch(() => undefined);
  if (info === undefined) return;
  let previous = false;
  if (info.isDirectory()) previous = (await isRegularFile(path.join(out, INDEX))) && (await isRegularFile(path.join(out, 'app.yaml')));
  else if (info.isFile()) previous = await archiveIsBuildOutput(out);
  if (!previous) {
    const what = info.isDirectory() ? 'directory' : info.isFile() ? 'file' : 'path';
    throw refuse(out, `an existing ${what} that is not an image built by hoist; it is left as it is`, PICK);
  }
  if (!options.force) {
    throw refuse(out, 'already holds a built image', 'pass --force to replace it, or choose a new path for --out');
  }
}
