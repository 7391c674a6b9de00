/**
 * `hoist image build --upgrade-via IMAGE`: embeds the runtime of an older image of the same
 * application so clusters older than the new image's direct-upgrade floor can step through it
 * (Gravity's `tele build --upgrade-via`). The runtime blob is copied verified, labelled
 * `purpose: intermediate-upgrade` and `intermediate-upgrade: <version>`, and the version is recorded
 * under `spec.upgradeVia` of the built app.yaml (comments and layout of the rest kept).
 */
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import semver from 'semver';
import { parseDocument } from 'yaml';
import type { ImageManifest } from '../config/schema.js';
import { InputError } from '../errors.js';
import { openImage } from './open.js';
import { LABEL, type PackageEntry } from './schema.js';

/** One intermediate version read from its image. */
export interface Intermediate {
  hop: ImageManifest['spec']['upgradeVia'][number];
  entry: PackageEntry;
  blob: Buffer;
}

/** Opens each intermediate image and takes its runtime; refuses images that cannot be a hop. */
export async function readIntermediates(paths: readonly string[], target: ImageManifest): Promise<Intermediate[]> {
  const out: Intermediate[] = [];
  for (const path of paths) {
    const image = await openImage(path);
    try {
      const { metadata, spec } = image.manifest;
      const refuse = (why: string): InputError =>
        new InputError('ERR_IMAGE_UPGRADE_VIA', `--upgrade-via ${path}: ${why}`, {
          hint: `pass an image of "${target.metadata.name}" older than ${target.metadata.version}, once each`,
        });
      if (metadata.name !== target.metadata.name) throw refuse(`is application "${metadata.name}", not "${target.metadata.name}"`);
      if (!semver.lt(metadata.version, target.metadata.version))
        throw refuse(`version ${metadata.version} is not older than ${target.metadata.version}`);
      if (out.some((i) => i.hop.version === metadata.version)) throw refuse(`version ${metadata.version} is given twice`);
      const entry = image.findPackage(spec.runtime.package)!;
      const labels = { ...entry.labels, [LABEL.purpose]: LABEL.intermediate, [LABEL.intermediate]: metadata.version };
      out.push({
        hop: {
          version: metadata.version,
          ...(spec.upgradeFrom === undefined ? {} : { upgradeFrom: spec.upgradeFrom }),
          runtime: spec.runtime,
        },
        entry: { ...entry, labels },
        blob: await image.readBlob(entry),
      });
    } finally {
      await image.close();
    }
  }
  return out;
}

/** The manifest with `intermediates` merged into `spec.upgradeVia` (a listed version is replaced). */
export function withIntermediates(manifest: ImageManifest, intermediates: readonly Intermediate[]): ImageManifest {
  const added = new Set(intermediates.map((i) => i.hop.version));
  const hops = [...manifest.spec.upgradeVia.filter((h) => !added.has(h.version)), ...intermediates.map((i) => i.hop)];
  hops.sort((a, b) => semver.compare(a.version, b.version));
  return { ...manifest, spec: { ...manifest.spec, upgradeVia: hops } };
}

/** Rewrites `<dir>/app.yaml` with the manifest's `spec.upgradeVia`, keeping everything else as written. */
export async function recordIntermediates(dir: string, manifest: ImageManifest): Promise<void> {
  const file = join(dir, 'app.yaml');
  const doc = parseDocument(await readFile(file, 'utf8'));
  doc.setIn(['spec', 'upgradeVia'], doc.createNode(manifest.spec.upgradeVia, { flow: false }));
  // No folding: flow lists written on one line stay on one line.
  await writeFile(file, doc.toString({ lineWidth: 0 }));
}
