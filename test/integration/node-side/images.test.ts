/**
 * Damaged and hostile images: a built image with one altered blob, and an archive with a `../evil`
 * entry. hoist must refuse them (exit 3) before anything of theirs is used or written, and a
 * damaged package must never reach a node of the sandbox.
 */
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as tar from 'tar';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixture, flipByte, type IndexEntry, NodeSideSandbox, PHASE_TIMEOUT, tearDownAndCheck } from './helpers.js';

const STATE = fixture('clusters', 'demo-3-masters', 'state.yaml');

/** Every file and folder under `dir`, relative to it. */
async function tree(dir: string): Promise<string[]> {
  const entries = await fs.readdir(dir, { recursive: true }).catch(() => [] as string[]);
  return entries.map(String).sort();
}

describe('damaged and hostile images', () => {
  let sb: NodeSideSandbox;
  let work: string;
  let tampered: string;
  let tamperedPackage: IndexEntry;
  /** The hoist process's temp dir: where it unpacks archives. */
  let tmp: string;

  beforeAll(async () => {
    work = await fs.mkdtemp(path.join(os.tmpdir(), 'hoist-node-side-images-'));
    tmp = path.join(work, 'tmp');
    await fs.mkdir(tmp);
    sb = await NodeSideSandbox.up('127.0.12.2');
  }, PHASE_TIMEOUT);

  afterAll(async () => {
    // Every bad image is refused before agents are deployed, so no agent ever runs here.
    await tearDownAndCheck(sb, ['etcd', 'kube', 'service', 'sshd']);
    if (work) await fs.rm(work, { recursive: true, force: true });
  }, PHASE_TIMEOUT);

  it('a built copy of upgrade-demo-2.0.0 inspects clean before it is altered', { timeout: PHASE_TIMEOUT }, async () => {
    const src = path.join(work, 'src');
    await fs.cp(fixture('images', 'upgrade-demo-2.0.0'), src, { recursive: true });
    tampered = path.join(work, 'built');
    const build = await sb.hoist(['image', 'build', src, '--out', tampered]);
    expect(build.code, build.stderr).toBe(0);
    expect((await sb.hoist(['image', 'inspect', tampered])).code).toBe(0);
    const index = JSON.parse(await fs.readFile(path.join(tampered, 'packages', 'index.json'), 'utf8')) as { packages: IndexEntry[] };
    tamperedPackage = index.packages.find((p) => p.name === 'runtime')!;
    await flipByte(path.join(tampered, 'packages', 'blobs', tamperedPackage.sha256));
  });

  it('image inspect refuses the altered blob with ERR_IMAGE_CHECKSUM (exit 3)', { timeout: PHASE_TIMEOUT }, async () => {
    const r = await sb.hoist(['image', 'inspect', tampered]);
    expect(r.code).toBe(3);
    expect(r.stderr).toContain('ERR_IMAGE_CHECKSUM');
    expect(r.stderr).toContain(`${tamperedPackage.name}:${tamperedPackage.version}`);
  });

  it('upgrade --dry-run --state refuses the altered image with ERR_IMAGE_CHECKSUM (exit 3)', { timeout: PHASE_TIMEOUT }, async () => {
    const r = await sb.hoist(['upgrade', '--dry-run', '--state', STATE, tampered]);
    expect(r.code, r.stdout.slice(0, 200)).toBe(3);
    expect(r.stderr).toContain('ERR_IMAGE_CHECKSUM');
  });

  it('a live upgrade to the altered image never puts its packages on a node', { timeout: 2 * PHASE_TIMEOUT }, async () => {
    const before = await Promise.all(sb.nodes.map((n) => sb.packageIndex(n.name)));
    const up = await sb.cli('upgrade', '--manual', tampered);
    // Refused before any operation exists: every blob is checked first.
    expect(up.code, up.stderr).toBe(3);
    expect(up.stderr).toContain('ERR_IMAGE_CHECKSUM');
    expect((await sb.cli('status', '-o', 'json')).stdout).not.toContain('"activeOperation": {');
    expect(await Promise.all(sb.nodes.map((n) => sb.packageIndex(n.name)))).toEqual(before);
    for (const n of sb.nodes)
      expect(await tree(sb.nodePath(n.name, 'packages', 'unpacked', 'runtime'))).not.toContain(tamperedPackage.version);
  });

  describe('an archive with a "../evil" entry', () => {
    let archive: string;
    let archiveDir: string;

    beforeAll(async () => {
      // A complete, valid image plus one entry that climbs out of the extraction directory.
      const stage = path.join(work, 'stage');
      const image = path.join(stage, 'image');
      const build = await sb.hoist(['image', 'build', fixture('images', 'upgrade-demo-2.0.0'), '--out', image]);
      expect(build.code, build.stderr).toBe(0);
      await fs.writeFile(path.join(stage, 'evil'), 'escaped\n');
      archiveDir = path.join(work, 'archives');
      await fs.mkdir(archiveDir);
      archive = path.join(archiveDir, 'evil.tar.gz');
      await tar.c({ gzip: true, file: archive, cwd: image, preservePaths: true }, ['app.yaml', 'hooks', 'packages', '../evil']);
      const names: string[] = [];
      await tar.t({ file: archive, onReadEntry: (e) => names.push(e.path) });
      expect(names).toContain('../evil');
      // Any "evil" found from now on was written by hoist.
      await fs.rm(stage, { recursive: true, force: true });
    });

    const nothingWritten = async (): Promise<void> => {
      expect(await tree(tmp)).toEqual([]);
      expect(await tree(archiveDir)).toEqual(['evil.tar.gz']);
      expect((await tree(work)).filter((f) => path.basename(f) === 'evil')).toEqual([]);
    };

    it('image inspect refuses it with ERR_IMAGE_UNSAFE_ENTRY (exit 3) and writes nothing', { timeout: PHASE_TIMEOUT }, async () => {
      const r = await sb.hoist(['image', 'inspect', archive], { TMPDIR: tmp });
      expect(r.code).toBe(3);
      expect(r.stderr).toContain('ERR_IMAGE_UNSAFE_ENTRY');
      expect(r.stderr).toContain('../evil');
      await nothingWritten();
    });

    it('upgrade --dry-run --state refuses it (exit 3)', { timeout: PHASE_TIMEOUT }, async () => {
      const r = await sb.hoist(['upgrade', '--dry-run', '--state', STATE, archive], { TMPDIR: tmp });
      await nothingWritten();
      expect(r.code, r.stdout.slice(0, 200)).toBe(3);
      expect(r.stderr).toContain('ERR_IMAGE_UNSAFE_ENTRY');
    });

    it('upgrade --dry-run --state writes nothing from it', { timeout: PHASE_TIMEOUT }, async () => {
      await sb.hoist(['upgrade', '--dry-run', '--state', STATE, archive], { TMPDIR: tmp });
      await nothingWritten();
    });
  });
});
