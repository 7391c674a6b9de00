/** `hoist image inspect IMAGE`: what an image carries, one row per package, blobs verified. */
import type { ImageManifest } from '../config/schema.js';
import { humanSize } from '../human-size.js';
import type { PackageEntry } from './schema.js';
import { verifyImage } from './verify.js';

/** One package row. */
export interface InspectRow {
  name: string;
  version: string;
  size: number;
  /** First 12 hex digits of the blob's sha256. */
  sha256: string;
  labels: Record<string, string>;
}

/** An image's manifest identity and its package rows. */
export interface ImageInspection {
  source: string;
  name: string;
  version: string;
  runtime: string;
  rows: InspectRow[];
}

/** Length of the short digest shown to people (like git's short ids). */
const SHORT_SHA = 12;

/** The row of an index entry. */
function inspectRow(entry: PackageEntry): InspectRow {
  return {
    name: entry.name,
    version: entry.version,
    size: entry.size,
    sha256: entry.sha256.slice(0, SHORT_SHA),
    labels: { ...entry.labels },
  };
}

function describe(source: string, manifest: ImageManifest, entries: readonly PackageEntry[]): ImageInspection {
  return {
    source,
    name: manifest.metadata.name,
    version: manifest.metadata.version,
    runtime: manifest.spec.runtime.package,
    rows: entries.map(inspectRow),
  };
}

/** Verifies every blob (an archive by streaming it, never unpacked) and lists the packages in index order. */
export async function inspectImage(path: string): Promise<ImageInspection> {
  const image = await verifyImage(path);
  return describe(path, image.manifest, image.index.packages);
}

/** `k=v,k=v` in key order; `-` when there are none. */
function formatLabels(labels: Record<string, string>): string {
  const keys = Object.keys(labels).sort();
  return keys.length === 0 ? '-' : keys.map((k) => `${k}=${labels[k]}`).join(',');
}

/** The inspection as a text table (the CLI prints it; nothing is written here). */
export function formatInspection(inspection: ImageInspection): string {
  const head = ['Name', 'Version', 'Size', 'SHA256', 'Labels'];
  const rows = inspection.rows.map((r) => [r.name, r.version, humanSize(r.size), r.sha256, formatLabels(r.labels)]);
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]): string => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i] ?? 0))).join('  ');
  const title = `Image ${inspection.name}:${inspection.version} (runtime ${inspection.runtime}) from ${inspection.source}`;
  return `${[title, '', line(head), line(head.map((_, i) => '-'.repeat(widths[i] ?? 0))), ...rows.map(line)].join('\n')}\n`;
}
