/**
 * Installs a cluster image on the sandbox nodes, as an installer would have: each node records
 * the installed image's manifest in `<nodeStateDir>/installed/app.yaml`, which is what hoist
 * reads back through the agents to learn the installed version.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { loadImageManifest } from '../config/load.js';
import { writeFileAtomic } from '../store/files.js';
import type { SandboxRecord } from './manifest.js';

/** Records `imageDir`'s manifest as installed on every sandbox node; returns its version. */
export async function installSandboxImage(record: SandboxRecord, imageDir: string): Promise<string> {
  const file = path.join(imageDir, 'app.yaml');
  const manifest = await loadImageManifest(file);
  const text = await fs.readFile(file, 'utf8');
  for (const node of record.nodes) {
    const dir = path.join(node.nodeStateDir, 'installed');
    await fs.mkdir(dir, { recursive: true });
    await writeFileAtomic(path.join(dir, 'app.yaml'), text);
  }
  return manifest.metadata.version;
}
