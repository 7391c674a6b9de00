import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ExitCode } from '../../../src/errors.js';
import { fingerprint, formatKnownHostLine } from '../../../src/ssh/known-hosts.js';
import { KnownHostsFile } from '../../../src/ssh/known-hosts-file.js';
import { caught } from '../../helpers/caught.js';

function ed25519Blob(): Buffer {
  const type = Buffer.from('ssh-ed25519');
  return Buffer.concat([Buffer.from([0, 0, 0, type.length]), type, Buffer.from([0, 0, 0, 32]), randomBytes(32)]);
}

describe('ssh › KnownHostsFile', () => {
  let dir: string;
  let file: string;
  const node = { name: 'node-2', address: '127.0.0.3', port: 22 };

  beforeEach(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'hoist-kh-'));
    file = path.join(dir, 'sub', 'known_hosts');
  });
  afterEach(async () => {
    await fs.rm(dir, { recursive: true, force: true });
  });

  it('refuses an unknown host with its fingerprint and a hint', async () => {
    const key = ed25519Blob();
    const err = await caught(new KnownHostsFile(file).verify(node, key, false));
    expect(err.code).toBe('ERR_SSH_HOST_KEY_UNKNOWN');
    expect(err.exitCode).toBe(ExitCode.unreachable);
    expect(err.message).toBe(`host key of node-2 (127.0.0.3) is not known: ED25519 key ${fingerprint(key)}`);
    expect(err.hint).toBe('verify the fingerprint, then re-run with --accept-new-host-keys to record it');
  });

  it('records a new key once, even for parallel verifications', async () => {
    const key = ed25519Blob();
    const known = new KnownHostsFile(file);
    await Promise.all([known.verify(node, key, true), known.verify(node, key, true), new KnownHostsFile(file).verify(node, key, true)]);
    await known.verify(node, key, false);
    expect(await fs.readFile(file, 'utf8')).toBe(`${formatKnownHostLine('127.0.0.3', 22, key)}\n`);
  });

  it('appends on a new line when the file lacks a trailing newline', async () => {
    await fs.mkdir(path.dirname(file), { recursive: true });
    await fs.writeFile(file, '# hand-written');
    const key = ed25519Blob();
    await new KnownHostsFile(file).verify(node, key, true);
    expect((await fs.readFile(file, 'utf8')).split('\n')).toEqual(['# hand-written', formatKnownHostLine('127.0.0.3', 22, key), '']);
  });

  it('refuses a changed key even with acceptNew, naming both fingerprints', async () => {
    const old = ed25519Blob();
    const offered = ed25519Blob();
    await fs.mkdir(path.dirname(file), { recursive: true });
    await fs.writeFile(file, `${formatKnownHostLine('127.0.0.3', 22, old)}\n`);
    const err = await caught(new KnownHostsFile(file).verify(node, offered, true));
    expect(err.code).toBe('ERR_SSH_HOST_KEY_CHANGED');
    expect(err.message).toContain('node-2 (127.0.0.3)');
    expect(err.message).toContain(fingerprint(old));
    expect(err.message).toContain(fingerprint(offered));
    expect(await fs.readFile(file, 'utf8')).not.toContain(offered.toString('base64'));
  });

  it('refuses a revoked key', async () => {
    const key = ed25519Blob();
    await fs.mkdir(path.dirname(file), { recursive: true });
    await fs.writeFile(file, `@revoked ${formatKnownHostLine('*', 22, key)}\n`);
    const err = await caught(new KnownHostsFile(file).verify(node, key, true));
    expect(err.code).toBe('ERR_SSH_HOST_KEY_REVOKED');
  });
});
