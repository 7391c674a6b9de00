/**
 * Upload over SFTP. The file is written beside its destination under a temporary name, its
 * sha256 is checked on the node, and only then is it renamed over the destination: a reader never
 * sees a half-written or corrupt file, and replacing a running binary does not fail with ETXTBSY.
 * For a non-root user writing as root, the file goes to /tmp first and `sudo -n` moves it.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Client, SFTPWrapper } from 'ssh2';
import { ExitCode, HoistError, InterruptedError } from '../errors.js';
import { disconnectedError } from './ssh-exec.js';
import { type ExecOptions, type ExecResult, shellQuote, type UploadOptions } from './transport.js';

/** What the upload needs from its transport. */
export interface UploadHost {
  node: string;
  user: string;
  client(): Promise<Client>;
  exec(cmd: string, opts?: ExecOptions): Promise<ExecResult>;
}

/** sha256 (hex) of a buffer or a local file. */
async function localSha256(src: string | Buffer): Promise<string> {
  const hash = createHash('sha256');
  if (Buffer.isBuffer(src)) return hash.update(src).digest('hex');
  await pipeline(createReadStream(src), hash);
  return hash.digest('hex');
}

/** Copies `src` to `dest` on the host with `mode`, verified by sha256 (see the module comment). */
export async function uploadOverSftp(host: UploadHost, src: string | Buffer, dest: string, opts: UploadOptions): Promise<void> {
  if (!path.posix.isAbsolute(dest)) {
    throw new HoistError(
      'ERR_SSH_UPLOAD_PATH',
      `upload destination on ${host.node} must be an absolute path: ${dest}`,
      ExitCode.unexpected,
      { node: host.node },
    );
  }
  const expected = await localSha256(src).catch((err: unknown) => {
    throw new HoistError(
      'ERR_SSH_UPLOAD_SOURCE',
      `cannot read upload source ${String(src)}: ${(err as Error).message}`,
      ExitCode.unexpected,
      {
        node: host.node,
        cause: err,
      },
    );
  });
  const asRoot = opts.sudo === true && host.user !== 'root';
  const suffix = `.hoist-upload-${randomBytes(6).toString('hex')}`;
  const staged = asRoot ? `/tmp/${path.posix.basename(dest)}${suffix}` : `${dest}${suffix}`;
  const ctl = { sudo: opts.sudo, signal: opts.signal, check: true };

  await host.exec(`mkdir -p -- ${shellQuote(path.posix.dirname(dest))}`, ctl);
  let placed = false;
  try {
    await writeFile(await host.client(), host.node, src, staged, opts);
    const target = asRoot ? `${dest}${suffix}` : staged;
    if (asRoot) {
      await host.exec(`cp -- ${shellQuote(staged)} ${shellQuote(target)} && chmod ${modeText(opts.mode)} -- ${shellQuote(target)}`, ctl);
    }
    // Checked and renamed in one command: every command costs a round trip (and a login shell).
    const t = shellQuote(target);
    const verify = `s=$(sha256sum -- ${t}) && s=\${s%% *}; if [ "$s" = ${expected} ]; then mv -f -- ${t} ${shellQuote(dest)}; else rm -f -- ${t}; echo "$s"; exit 3; fi`;
    const result = await host.exec(verify, { sudo: opts.sudo, signal: opts.signal });
    if (result.exitCode !== 0) {
      const actual = result.stdout.trim();
      throw new HoistError(
        'ERR_SSH_UPLOAD_CHECKSUM',
        `upload of ${dest} to ${host.node} is corrupt: sha256 ${actual || '(none)'} on the node, ${expected} locally`,
        ExitCode.unexpected,
        {
          node: host.node,
          hint: `check free space and the filesystem on ${host.node}, then retry`,
        },
      );
    }
    placed = !asRoot;
  } finally {
    // After a successful rename the staged copy is gone; this cleans failures and the /tmp copy.
    if (!placed) await host.exec(`rm -f -- ${shellQuote(staged)}`).catch(() => undefined);
  }
}

function writeBuffer(sftp: SFTPWrapper, src: Buffer, remote: string, opts: UploadOptions): Promise<void> {
  const sink = sftp.createWriteStream(remote, { mode: opts.mode });
  return opts.signal ? pipeline(Readable.from([src]), sink, { signal: opts.signal }) : pipeline(Readable.from([src]), sink);
}

// fastPut keeps many SFTP writes in flight; a plain write stream waits for each 32 KiB ack and
// is an order of magnitude slower for a Node.js runtime of tens of megabytes.
function fastPut(sftp: SFTPWrapper, local: string, remote: string, mode: number): Promise<void> {
  return new Promise((resolve, reject) => sftp.fastPut(local, remote, { mode, concurrency: 64 }, (err) => (err ? reject(err) : resolve())));
}

function modeText(mode: number): string {
  return (mode & 0o7777).toString(8).padStart(4, '0');
}

function openSftp(client: Client, node: string): Promise<SFTPWrapper> {
  return new Promise((resolve, reject) => {
    try {
      client.sftp((err, sftp) => (err ? reject(disconnectedError(node, 'opening SFTP', err)) : resolve(sftp)));
    } catch (err) {
      reject(disconnectedError(node, 'opening SFTP', err));
    }
  });
}

async function writeFile(client: Client, node: string, src: string | Buffer, remote: string, opts: UploadOptions): Promise<void> {
  const sftp = await openSftp(client, node);
  try {
    const copy = Buffer.isBuffer(src) ? writeBuffer(sftp, src, remote, opts) : fastPut(sftp, src, remote, opts.mode);
    await copy.catch((err: unknown) => {
      if (opts.signal?.aborted) throw new InterruptedError(`upload of ${remote} to ${node} aborted`, { node, cause: opts.signal.reason });
      throw new HoistError('ERR_SSH_UPLOAD_WRITE', `cannot write ${remote} on ${node}: ${(err as Error).message}`, ExitCode.unexpected, {
        node,
        cause: err,
        hint: `check that the directory is writable by the SSH user on ${node}, or upload with sudo`,
      });
    });
    // The open mode is filtered by the server's umask; set it explicitly.
    await new Promise<void>((resolve, reject) => sftp.chmod(remote, opts.mode, (err) => (err ? reject(err) : resolve())));
  } finally {
    sftp.end();
  }
}
