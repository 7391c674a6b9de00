/**
 * Installs a cluster image on the sandbox nodes, as an installer would: the runtime package and a
 * per-node configuration package in each node's package store (marked installed), the node's
 * identity, the installed image record, then the runtime started everywhere — on masters with a
 * real etcd member each, forming one cluster whose keys hold the election flags.
 */
import path from 'node:path';
import type { Logger } from 'pino';
import { stringify } from 'yaml';
import { runActionLocally } from '../agent/actions/run-local.js';
import { writeFileAtomic } from '../durable-files.js';
import { openImage } from '../image/open.js';
import { LABEL } from '../image/schema.js';
import { buildConfigPackage } from '../phases/packages.js';
import { parseLocator } from '../plan/names.js';
import { hoistVersion } from '../version.js';
import type { SandboxRecord } from './manifest.js';

/** Installs the image at `imagePath` on every node of the sandbox; returns its version. */
export async function installSandboxImage(record: SandboxRecord, imagePath: string, log?: Logger): Promise<string> {
  const image = await openImage(imagePath);
  try {
    const { manifest } = image;
    const runtime = manifest.spec.runtime.package;
    const ref = parseLocator(runtime, 'spec.runtime.package');
    const entry = image.findPackage(ref);
    if (!entry) throw new Error(`image ${imagePath} has no runtime package ${runtime}`);
    const blob = await image.readBlob(entry);
    const masters = record.nodes.filter((n) => n.role === 'master').map((n) => ({ name: n.name, address: n.address }));
    const opts = { version: hoistVersion() };
    await Promise.all(
      record.nodes.map(async (node) => {
        const sd = node.nodeStateDir;
        await writeFileAtomic(
          path.join(sd, 'node.json'),
          `${JSON.stringify({ cluster: record.name, name: node.name, address: node.address, role: node.role, masters }, null, 2)}\n`,
        );
        await put(sd, entry, blob, { [LABEL.purpose]: 'runtime', [LABEL.installed]: 'installed' });
        const config = await buildConfigPackage({
          cluster: record.name,
          node: node.name,
          address: node.address,
          role: node.role,
          runtime,
          version: manifest.metadata.version,
          masters,
        });
        await put(sd, config.entry, config.blob, {
          [LABEL.purpose]: 'runtime-config',
          [LABEL.installed]: 'installed',
          'advertise-ip': node.address,
        });
        await runActionLocally(sd, 'installed.commit', { manifest: stringify(manifest) }, opts);
        for (const hook of ['install', 'start']) await runActionLocally(sd, 'exec.hook', { package: runtime, hook }, opts);
        log?.info({ event: 'sandbox.node.installed', node: node.name, runtime }, `${node.name}: ${runtime} started`);
      }),
    );
    // Health needs the etcd quorum, so it is checked once every master has started.
    await Promise.all(record.nodes.map((n) => runActionLocally(n.nodeStateDir, 'exec.hook', { package: runtime, hook: 'health' }, opts)));
    const lead = record.nodes.find((n) => n.role === 'master');
    if (lead)
      await runActionLocally(
        lead.nodeStateDir,
        'exec.hook',
        { package: runtime, hook: 'election-enable', args: masters.map((m) => m.address) },
        opts,
      );
    return manifest.metadata.version;
  } finally {
    await image.close();
  }

  async function put(
    stateDir: string,
    e: { name: string; version: string; sha256: string; size: number },
    data: Buffer,
    labels: Record<string, string>,
  ): Promise<void> {
    await runActionLocally(
      stateDir,
      'package.put',
      { ...e, labels, offset: 0, data: data.toString('base64'), final: true },
      { version: hoistVersion() },
    );
  }
}
