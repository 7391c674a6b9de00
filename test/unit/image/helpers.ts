/** Shared bits of the image tests: a tiny image source tree and hand-made (hostile) tar archives. */
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as tar from 'tar';

/** Writes a minimal image source (runtime, one system app, the app) under `dir`; `skip` omits folders. */
export async function makeSource(dir: string, skip: string[] = []): Promise<void> {
  await mkdir(join(dir, 'hooks'), { recursive: true });
  await writeFile(
    join(dir, 'app.yaml'),
    [
      'apiVersion: hoist/v1',
      'kind: ClusterImage',
      'metadata: { name: demo, version: 1.2.0 }',
      'spec:',
      '  runtime: { package: "runtime:7.0.1-1", etcdVersion: 3.4.23 }',
      '  systemApps: ["dns-app:7.0.3"]',
      '  hooks: { preUpdate: hooks/pre-update.yaml }',
      '',
    ].join('\n'),
  );
  await writeFile(join(dir, 'hooks', 'pre-update.yaml'), 'apiVersion: batch/v1\nkind: Job\nmetadata: { name: pre-update }\n');
  const packages: Array<[string, string, string]> = [
    ['runtime', '7.0.1-1', 'runtime'],
    ['dns-app', '7.0.3', 'system-app'],
    ['demo', '1.2.0', 'app'],
  ];
  for (const [name, version, purpose] of packages) {
    const folder = join(dir, 'packages', `${name}-${version}`);
    if (skip.includes(`${name}-${version}`)) continue;
    await mkdir(join(folder, 'jobs'), { recursive: true });
    await writeFile(
      join(folder, 'package.yaml'),
      `apiVersion: hoist/v1\nkind: Package\nmetadata: { name: ${name}, version: ${version} }\nlabels: { purpose: ${purpose} }\n`,
    );
    await writeFile(join(folder, 'resources.yaml'), `kind: ConfigMap\ndata: { version: "${version}" }\n`);
    await writeFile(join(folder, 'jobs', 'update.yaml'), `kind: Job\nmetadata: { name: ${name}-update }\n`);
  }
}

/** One entry of a hand-made archive. */
export interface RawEntry {
  path: string;
  type: 'File' | 'Directory' | 'SymbolicLink' | 'Link' | 'CharacterDevice' | 'FIFO';
  linkpath?: string;
  data?: string;
}

/** A tar archive with exactly these headers, written with node-tar's Header (no path cleaning). */
export function rawTar(entries: RawEntry[]): Buffer {
  const blocks: Buffer[] = [];
  for (const entry of entries) {
    const data = Buffer.from(entry.data ?? '');
    const block = Buffer.alloc(512);
    new tar.Header({
      path: entry.path,
      type: entry.type,
      ...(entry.linkpath === undefined ? {} : { linkpath: entry.linkpath }),
      size: data.length,
      mode: entry.type === 'Directory' ? 0o755 : 0o644,
      uid: 0,
      gid: 0,
      mtime: new Date(0),
    }).encode(block);
    blocks.push(block);
    if (data.length > 0) blocks.push(data, Buffer.alloc((512 - (data.length % 512)) % 512));
  }
  blocks.push(Buffer.alloc(1024));
  return Buffer.concat(blocks);
}

/** Every path under `dir`, recursively, sorted (to assert that nothing was written). */
export async function tree(dir: string): Promise<string[]> {
  return (await readdir(dir, { recursive: true })).sort();
}

/** The entries of a tar(.gz) as node-tar reads them. */
export async function tarEntries(
  file: string,
): Promise<Array<{ path: string; type: string; uid?: number; gid?: number; mtime?: Date; mode?: number }>> {
  const out: Array<{ path: string; type: string; uid?: number; gid?: number; mtime?: Date; mode?: number }> = [];
  await tar.t({
    file,
    onReadEntry: (e) => out.push({ path: e.path, type: e.type, uid: e.uid, gid: e.gid, mtime: e.mtime, mode: e.mode }),
  });
  return out;
}
