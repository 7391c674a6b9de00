/**
 * Moving packages to nodes: blobs of the target image (verified by sha256 before they leave) and
 * the per-node configuration package, pushed in chunks through the node's agent.
 */
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { stringify } from 'yaml';
import { ExitCode, HoistError } from '../errors.js';
import type { PhaseContext } from '../fsm/executor.js';
import { writeTree } from '../image/deterministic-tar.js';
import type { PackageEntry } from '../image/schema.js';
import { readLocator } from '../plan/names.js';
import { type PhaseDeps, runOptions } from './deps.js';

/** Bytes per `package.put` call; base64 keeps each request well under the agent's line cap. */
const CHUNK = 512 * 1024;

/** Sends `blob` to `node` as package `entry`, with `labels`. */
export async function pushBlob(
  deps: PhaseDeps,
  ctx: PhaseContext,
  node: string,
  entry: Omit<PackageEntry, 'labels'>,
  blob: Buffer,
  labels: Record<string, string>,
): Promise<void> {
  ctx.report(`pushing ${entry.name}:${entry.version} to ${node}`);
  for (let offset = 0; ; offset += CHUNK) {
    const data = blob.subarray(offset, offset + CHUNK);
    const final = offset + CHUNK >= blob.length;
    const r = await deps.nodes.run<{ installed: boolean }>(
      node,
      'package.put',
      {
        name: entry.name,
        version: entry.version,
        sha256: entry.sha256,
        size: entry.size,
        labels,
        offset,
        data: data.toString('base64'),
        final,
      },
      runOptions(ctx),
    );
    if (final || r.installed) return;
  }
}

/** Pushes package `locator` of the target image to `node`. */
export async function pushImagePackage(
  deps: PhaseDeps,
  ctx: PhaseContext,
  node: string,
  locator: string,
  labels: Record<string, string>,
): Promise<void> {
  const image = await deps.image();
  const ref = readLocator(locator);
  const entry = ref ? image.findPackage(ref) : undefined;
  if (!entry) {
    throw new HoistError('ERR_IMAGE_PACKAGE_MISSING', `the image ${image.source} has no package ${locator}`, ExitCode.invalidInput, {
      hint: 'rebuild the image with that package folder',
    });
  }
  await pushBlob(deps, ctx, node, entry, await image.readBlob(entry), labels);
}

/** Name of a node's configuration package. */
export function configPackageName(node: string): string {
  return `config-${node}`;
}

/** What a node's configuration package holds (`config.json`). */
export interface NodeConfig {
  cluster: string;
  node: string;
  address: string;
  role: string;
  runtime: string;
  version: string;
  masters: { name: string; address: string }[];
}

/** Builds a node's configuration package as a deterministic tar.gz. */
export async function buildConfigPackage(config: NodeConfig): Promise<GeneratedPackage> {
  return buildPackage(
    { name: configPackageName(config.node), version: config.version, labels: { purpose: 'runtime-config' } },
    { 'config.json': `${JSON.stringify(config, null, 2)}\n` },
  );
}

/** A package made by the orchestrator: its index entry (without labels) and its blob. */
export interface GeneratedPackage {
  entry: Omit<PackageEntry, 'labels'>;
  blob: Buffer;
}

/** Builds a package with `package.yaml` from `meta` and the given files, as a deterministic tar.gz. */
export async function buildPackage(
  meta: { name: string; version: string; labels: Record<string, string>; hooks?: Record<string, unknown> },
  files: Record<string, string>,
): Promise<GeneratedPackage> {
  const dir = await mkdtemp(path.join(tmpdir(), 'hoist-package-'));
  try {
    const root = path.join(dir, 'pkg');
    await mkdir(root);
    const manifest = { apiVersion: 'hoist/v1', kind: 'Package', metadata: { name: meta.name, version: meta.version }, labels: meta.labels };
    await writeFile(path.join(root, 'package.yaml'), stringify(meta.hooks ? { ...manifest, hooks: meta.hooks } : manifest));
    for (const [rel, content] of Object.entries(files)) await writeFile(path.join(root, rel), content);
    const out = path.join(dir, 'package.tar.gz');
    const written = await writeTree(root, out, { gzip: true });
    return { entry: { name: meta.name, version: meta.version, sha256: written.sha256, size: written.size }, blob: await readFile(out) };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
