/**
 * The Transport of the orchestrator's own host: the same contract as SshTransport, run in-process
 * with execa, so executors do not care whether a node is local.
 */
import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import type { Duplex, Readable } from 'node:stream';
import { execa } from 'execa';
import { ExitCode, HoistError, InterruptedError } from '../errors.js';
import { abortError } from './ssh-exec.js';
import { socketError } from './ssh-socket.js';
import { localSha256 } from './ssh-upload.js';
import {
  type ExecOptions,
  type ExecResult,
  RemoteCommandError,
  remoteTimeoutError,
  shellQuote,
  type Transport,
  type UnixSocketOptions,
  type UploadOptions,
  withSudo,
} from './transport.js';

/** Transport for the host hoist runs on. */
export class LocalTransport implements Transport {
  readonly node: string;
  readonly user: string;

  constructor(node = 'localhost') {
    this.node = node;
    this.user = os.userInfo().username;
  }

  /** Runs `cmd` with `sh -c`; the result has the same shape as over SSH. */
  async exec(cmd: string, opts: ExecOptions = {}): Promise<ExecResult> {
    if (opts.signal?.aborted) throw abortError(this.node, cmd, opts.signal);
    const subprocess = execa('sh', ['-c', withSudo(cmd, this.user, opts.sudo)], {
      reject: false,
      stripFinalNewline: false,
      encoding: 'utf8',
      ...stdinOption(opts.stdin),
      // Own process group, so a timeout or abort kills the whole command, not just `sh`:
      // a surviving child would keep the output pipes (and this call) open.
      detached: true,
    });
    let stopped: 'timeout' | 'abort' | undefined;
    const stop = (why: 'timeout' | 'abort') => {
      stopped ??= why;
      if (subprocess.pid !== undefined) signalGroup(subprocess.pid);
    };
    const timer = opts.timeoutMs !== undefined ? setTimeout(() => stop('timeout'), opts.timeoutMs) : undefined;
    const onAbort = () => stop('abort');
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    if (opts.onStdout) subprocess.stdout?.on('data', opts.onStdout);
    if (opts.onStderr) subprocess.stderr?.on('data', opts.onStderr);
    const r = await subprocess.finally(() => {
      clearTimeout(timer);
      opts.signal?.removeEventListener('abort', onAbort);
    });
    if (stopped === 'timeout') throw remoteTimeoutError(this.node, cmd, opts.timeoutMs ?? 0);
    if (stopped === 'abort') throw abortError(this.node, cmd, opts.signal!);
    if (r.failed && r.exitCode === undefined && !r.signal) {
      // The shell itself did not start (ENOENT, EACCES): not a command result.
      throw new HoistError('ERR_LOCAL_SPAWN', `cannot run a command on ${this.node}: ${r.shortMessage}`, ExitCode.unexpected, {
        node: this.node,
        cause: r.cause,
      });
    }
    const result: ExecResult = {
      exitCode: r.exitCode ?? -1,
      ...(r.signal ? { signal: r.signal.replace(/^SIG/, '') } : {}),
      stdout: String(r.stdout ?? ''),
      stderr: String(r.stderr ?? ''),
    };
    if (opts.check && (result.exitCode !== 0 || result.signal)) throw new RemoteCommandError(this.node, cmd, result);
    return result;
  }

  /** Copies beside the destination, checks sha256, renames over it (as the SSH upload does). */
  async upload(src: string | Buffer, dest: string, opts: UploadOptions): Promise<void> {
    if (opts.signal?.aborted) throw new InterruptedError(`upload of ${dest} aborted`, { node: this.node });
    if (opts.sudo && this.user !== 'root') {
      // Writing as root needs sudo: stage in /tmp and let the shell path do the privileged part.
      const staged = path.join(os.tmpdir(), `hoist-upload-${randomBytes(6).toString('hex')}`);
      await this.writeStaged(src, staged, opts.mode);
      try {
        const [from, tmp, to] = [staged, `${dest}.hoist-upload`, dest].map(shellQuote);
        const dir = shellQuote(path.dirname(dest));
        const mode = (opts.mode & 0o7777).toString(8);
        await this.exec(`mkdir -p -- ${dir} && cp -- ${from} ${tmp} && chmod ${mode} -- ${tmp} && mv -f -- ${tmp} ${to}`, {
          sudo: true,
          check: true,
        });
      } finally {
        await fs.rm(staged, { force: true });
      }
      return;
    }
    await fs.mkdir(path.dirname(dest), { recursive: true });
    const staged = `${dest}.hoist-upload-${randomBytes(6).toString('hex')}`;
    try {
      await this.writeStaged(src, staged, opts.mode);
      const [expected, actual] = await Promise.all([localSha256(src), localSha256(staged)]);
      if (expected !== actual) {
        throw new HoistError(
          'ERR_SSH_UPLOAD_CHECKSUM',
          `copy of ${dest} on ${this.node} is corrupt: sha256 ${actual}, expected ${expected}`,
          ExitCode.unexpected,
          {
            node: this.node,
            hint: 'check free space and the filesystem, then retry',
          },
        );
      }
      await fs.rename(staged, dest);
    } finally {
      await fs.rm(staged, { force: true });
    }
  }

  private async writeStaged(src: string | Buffer, staged: string, mode: number): Promise<void> {
    try {
      if (Buffer.isBuffer(src)) await fs.writeFile(staged, src, { mode });
      else await fs.copyFile(src, staged);
      await fs.chmod(staged, mode);
    } catch (err) {
      throw new HoistError(
        'ERR_SSH_UPLOAD_WRITE',
        `cannot write ${staged} on ${this.node}: ${(err as Error).message}`,
        ExitCode.unexpected,
        {
          node: this.node,
          cause: err,
        },
      );
    }
  }

  /** Connects directly; sudo is not needed for a socket the local user can open. */
  async openUnixSocket(socketPath: string, _opts: UnixSocketOptions = {}): Promise<Duplex> {
    return new Promise((resolve, reject) => {
      const socket = net.connect(socketPath);
      const onError = (err: Error) => reject(socketError(this.node, socketPath, err.message, err));
      socket.once('connect', () => {
        socket.removeListener('error', onError);
        resolve(socket);
      });
      socket.once('error', onError);
    });
  }

  /** Nothing to release. */
  async close(): Promise<void> {}
}

function stdinOption(stdin: ExecOptions['stdin']): { input: string | Buffer } | { stdin: Readable | 'ignore' } {
  if (stdin === undefined) return { stdin: 'ignore' };
  if (typeof stdin === 'string' || Buffer.isBuffer(stdin)) return { input: stdin };
  return { stdin };
}

function signalGroup(pid: number): void {
  try {
    process.kill(-pid, 'SIGKILL');
  } catch {
    // already gone
  }
}
