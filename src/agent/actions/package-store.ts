/**
 * The node package store (Gravity's `gravity package …` on a node): blobs by sha256, an index with
 * labels, and each package unpacked for its hooks. Blobs arrive in chunks over the agent protocol
 * (its lines are capped), are verified by sha256, then unpacked with the image's safe extractor.
 * Index updates are serialized: two phases may touch one node's store at once.
 *
 * Nothing is named by the index before it is durable: the blob is fsynced before its rename and
 * the blobs directory after it, the unpacked tree is extracted beside its place, fsynced file by
 * file and directory by directory, then renamed in. A blob already present is reused only when
 * its sha256 matches, not merely its size.
 */
import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { fsyncDir, isErrno, tempPath, writeFileAtomic } from '../../durable-files.js';
import {
  addPackage,
  emptyIndex,
  findPackage,
  markInstalled,
  nodeStorePaths,
  parseNodeIndex,
  removePackage,
  serializeIndex,
  setLabels,
} from '../../image/node-index.js';
import { safeExtract } from '../../image/safe-extract.js';
import type { PackageIndex } from '../../image/schema.js';
import { isPackageName, isSemver } from '../../plan/names.js';
import { actionError } from '../errors.js';
import { defineAction } from './types.js';

const ref = {
  name: z.string().refine(isPackageName, 'expected a package name'),
  version: z.string().refine(isSemver, 'expected a semver version'),
};
const labels = z.record(z.string(), z.string());

let indexQueue: Promise<unknown> = Promise.resolve();

/** The node's package index; empty when the store has none yet. */
export async function readNodeIndex(stateDir: string): Promise<PackageIndex> {
  const file = nodeStorePaths(stateDir).index;
  try {
    return parseNodeIndex(await fs.readFile(file, 'utf8'), file);
  } catch (err) {
    if (isErrno(err, 'ENOENT')) return emptyIndex();
    throw err;
  }
}

/** Runs `fn` on the node index under a process-wide queue and writes its result atomically. */
async function updateIndex<T>(stateDir: string, fn: (index: PackageIndex) => Promise<[PackageIndex, T]> | [PackageIndex, T]): Promise<T> {
  const run = indexQueue.then(async () => {
    const file = nodeStorePaths(stateDir).index;
    const [next, result] = await fn(await readNodeIndex(stateDir));
    await fs.mkdir(path.dirname(file), { recursive: true });
    await writeFileAtomic(file, serializeIndex(next));
    return result;
  });
  indexQueue = run.catch(() => undefined);
  return run;
}

async function fsyncFile(file: string): Promise<void> {
  const fh = await fs.open(file, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/** fsyncs every regular file and directory under `dir`, children before their directory. */
async function fsyncTree(dir: string): Promise<void> {
  for (const entry of await fs.readdir(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) await fsyncTree(full);
    else if (entry.isFile()) await fsyncFile(full);
  }
  await fsyncDir(dir);
}

async function sha256Of(file: string): Promise<string> {
  return createHash('sha256')
    .update(await fs.readFile(file))
    .digest('hex');
}

/** Result of `package.put`. */
export interface PackagePutResult {
  /** Bytes received so far (the next chunk's offset). */
  received: number;
  /** True once the package is verified, unpacked and indexed. */
  installed: boolean;
}

/** Receives a package blob chunk by chunk; the final chunk verifies, unpacks and indexes it. */
export const packagePutAction = defineAction({
  name: 'package.put',
  description: 'receive a package into the node store',
  params: z.object({
    ...ref,
    sha256: z.string().regex(/^[0-9a-f]{64}$/),
    size: z.number().int().nonnegative(),
    labels: labels.default({}),
    offset: z.number().int().nonnegative(),
    data: z.string().max(768 * 1024),
    final: z.boolean(),
  }),
  async run(ctx, p): Promise<PackagePutResult> {
    const store = nodeStorePaths(ctx.stateDir);
    const blob = store.blob(p.sha256);
    const have = await fs.stat(blob).then(
      async (s) => s.size === p.size && (await sha256Of(blob)) === p.sha256,
      () => false,
    );
    if (!have) {
      const part = path.join(store.root, 'incoming', `${p.sha256}.part`);
      await fs.mkdir(path.dirname(part), { recursive: true });
      const size = await fs.stat(part).then(
        (s) => s.size,
        () => 0,
      );
      if (p.offset !== 0 && p.offset !== size) {
        throw actionError(
          'ERR_PACKAGE_OFFSET',
          `chunk of ${p.name}:${p.version} at offset ${p.offset}, but ${size} bytes were received`,
          'restart the upload from offset 0',
        );
      }
      await fs.writeFile(part, Buffer.from(p.data, 'base64'), { flag: p.offset === 0 ? 'w' : 'a' });
      if (!p.final) return { received: (await fs.stat(part)).size, installed: false };
      const actual = await sha256Of(part);
      if (actual !== p.sha256) {
        await fs.rm(part, { force: true });
        throw actionError(
          'ERR_PACKAGE_CHECKSUM',
          `package ${p.name}:${p.version} arrived with sha256 ${actual}, expected ${p.sha256}`,
          'push it again; if it fails again the image is damaged',
        );
      }
      await fsyncFile(part);
      await fs.mkdir(store.blobs, { recursive: true });
      await fs.rename(part, blob);
      await fsyncDir(store.blobs);
    } else if (!p.final) {
      return { received: p.size, installed: false };
    }
    const dest = store.unpacked({ name: p.name, version: p.version });
    await fs.mkdir(path.dirname(dest), { recursive: true });
    const staging = tempPath(dest);
    try {
      await safeExtract(blob, staging, { label: `${p.name}:${p.version}` });
      await fsyncTree(staging);
      await fs.rm(dest, { recursive: true, force: true });
      await fs.rename(staging, dest);
      await fsyncDir(path.dirname(dest));
    } finally {
      await fs.rm(staging, { recursive: true, force: true });
    }
    await updateIndex(ctx.stateDir, (index) => [
      addPackage(
        index,
        { name: p.name, version: p.version, sha256: p.sha256, size: p.size, labels: { ...(findPackage(index, p)?.labels ?? {}) } },
        p.labels,
      ),
      undefined,
    ]);
    ctx.log('info', `package ${p.name}:${p.version} stored and unpacked`);
    return { received: p.size, installed: true };
  },
});

/** Sets or clears labels; `installed: "installed"` moves the installed mark from other versions of the package. */
export const packageLabelAction = defineAction({
  name: 'package.label',
  description: 'change labels of a stored package',
  params: z.object({ ...ref, labels: z.record(z.string(), z.string().nullable()) }),
  async run(ctx, p): Promise<{ labels: Record<string, string> }> {
    return updateIndex(ctx.stateDir, (index) => {
      if (!findPackage(index, p))
        throw actionError(
          'ERR_PACKAGE_NOT_FOUND',
          `package ${p.name}:${p.version} is not in the node store`,
          'push it first (the bootstrap phase does)',
        );
      const { installed, ...rest } = p.labels;
      let next = setLabels(index, p, rest);
      if (installed === 'installed') next = markInstalled(next, p);
      else if (installed === null) next = setLabels(next, p, { installed: null });
      return [next, { labels: findPackage(next, p)!.labels }];
    });
  },
});

/** Removes a package: index entry, unpacked files, and its blob unless another entry shares it. */
export const packageRemoveAction = defineAction({
  name: 'package.remove',
  description: 'remove a package from the node store',
  params: z.object({ ...ref }),
  async run(ctx, p): Promise<{ removed: boolean }> {
    const store = nodeStorePaths(ctx.stateDir);
    const removed = await updateIndex(ctx.stateDir, async (index) => {
      const entry = findPackage(index, p);
      if (!entry) return [index, false];
      const next = removePackage(index, p);
      if (!next.packages.some((e) => e.sha256 === entry.sha256)) await fs.rm(store.blob(entry.sha256), { force: true });
      return [next, true];
    });
    await fs.rm(store.unpacked(p), { recursive: true, force: true });
    return { removed };
  },
});
