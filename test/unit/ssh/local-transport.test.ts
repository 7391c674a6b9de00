import { promises as fs } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalTransport } from '../../../src/ssh/local-transport.js';
import { caught } from '../../helpers/caught.js';

describe('ssh › LocalTransport', () => {
  const local = new LocalTransport('node-1');
  let dir: string;

  beforeAll(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'hoist-local-'));
  });
  afterAll(async () => {
    await fs.rm(dir, { recursive: true, force: true });
  });

  it('returns stdout, stderr and a non-zero exit as data', async () => {
    expect(await local.exec('echo out; echo err >&2; exit 4')).toEqual({ exitCode: 4, stdout: 'out\n', stderr: 'err\n' });
  });

  it('throws ERR_REMOTE_COMMAND with check', async () => {
    const err = await caught(local.exec('echo boom >&2; exit 2', { check: true }));
    expect(err.code).toBe('ERR_REMOTE_COMMAND');
    expect(err.details).toEqual(['boom']);
  });

  it('feeds stdin and streams output', async () => {
    const chunks: string[] = [];
    const r = await local.exec('cat', { stdin: 'abc', onStdout: (c) => chunks.push(c.toString()) });
    expect(r.stdout).toBe('abc');
    expect(chunks.join('')).toBe('abc');
  });

  it('times out and aborts', async () => {
    expect((await caught(local.exec('sleep 30', { timeoutMs: 100 }))).code).toBe('ERR_REMOTE_TIMEOUT');
    const controller = new AbortController();
    const run = local.exec('echo started; sleep 30', { signal: controller.signal, onStdout: () => controller.abort() });
    expect((await caught(run)).code).toBe('ERR_INTERRUPTED');
  });

  it('uploads a buffer with its mode, replacing the destination', async () => {
    const dest = path.join(dir, 'a', 'b', 'file.bin');
    await local.upload(Buffer.from('one'), dest, { mode: 0o640 });
    await local.upload(Buffer.from('two'), dest, { mode: 0o751 });
    expect(await fs.readFile(dest, 'utf8')).toBe('two');
    expect((await fs.stat(dest)).mode & 0o777).toBe(0o751);
    expect(await fs.readdir(path.dirname(dest))).toEqual(['file.bin']);
  });

  it('opens a Unix socket, or says which one is missing', async () => {
    const sock = path.join(dir, 'echo.sock');
    const server = net.createServer((s) => s.pipe(s));
    await new Promise<void>((resolve) => server.listen(sock, resolve));
    try {
      const stream = await local.openUnixSocket(sock);
      stream.end('ping');
      const reply = await new Promise<string>((resolve) => {
        let text = '';
        stream.on('data', (d: Buffer) => (text += d.toString()));
        stream.on('end', () => resolve(text));
      });
      expect(reply).toBe('ping');
    } finally {
      server.close();
    }
    const err = await caught(local.openUnixSocket(path.join(dir, 'missing.sock')));
    expect(err.code).toBe('ERR_SSH_SOCKET_UNAVAILABLE');
    expect(err.message).toContain('missing.sock');
  });
});
