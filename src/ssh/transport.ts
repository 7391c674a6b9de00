/**
 * The Transport contract: how hoist runs commands, copies files and reaches Unix sockets on one
 * host; SshTransport (ssh2) implements it. Commands are shell strings run by `sh -c` on the host.
 */
import type { Duplex, Readable } from 'node:stream';
import { ExitCode, HoistError } from '../errors.js';

/** Options of one command. */
export interface ExecOptions {
  /** Run as root through `sudo -n` when the transport's user is not root. */
  sudo?: boolean;
  /** Kill the command and reject with ERR_REMOTE_TIMEOUT after this long. */
  timeoutMs?: number;
  /** Aborting closes the channel and rejects with an InterruptedError. */
  signal?: AbortSignal;
  /** Fed to the command's stdin, then closed. Without it stdin is closed at once. */
  stdin?: string | Buffer | Readable;
  /** Called with every chunk of stdout as it arrives. */
  onStdout?: (chunk: Buffer) => void;
  /** Called with every chunk of stderr as it arrives. */
  onStderr?: (chunk: Buffer) => void;
  /** Throw RemoteCommandError (ERR_REMOTE_COMMAND) on a non-zero exit instead of returning it. */
  check?: boolean;
}

/** Outcome of a command that ran to its end. */
export interface ExecResult {
  /** Exit status; -1 when the command was killed by a signal. */
  exitCode: number;
  /** Signal name (`KILL`, `TERM`) when the command died from one. */
  signal?: string;
  stdout: string;
  stderr: string;
}

/** Options of an upload. */
export interface UploadOptions {
  /** File mode of the destination, e.g. 0o755. */
  mode: number;
  /** Write the destination as root (`sudo -n`) when the transport's user is not root. */
  sudo?: boolean;
  signal?: AbortSignal;
}

/** Options of openUnixSocket. */
export interface UnixSocketOptions {
  /** Reach a root-only socket through `sudo -n` when the transport's user is not root. */
  sudo?: boolean;
  /** A Node.js binary on the host to run the socket relay with, tried before the PATH's. */
  runtime?: string;
}

/** One host that hoist acts on. */
export interface Transport {
  /** Node name used in messages. */
  readonly node: string;
  /** Runs a shell command; a non-zero exit is data unless `check` is set. */
  exec(cmd: string, opts?: ExecOptions): Promise<ExecResult>;
  /**
   * Copies a local file (path) or buffer to `dest` with `mode`, creating parent directories,
   * replacing `dest` atomically, and verifying its sha256 on the host.
   */
  upload(src: string | Buffer, dest: string, opts: UploadOptions): Promise<void>;
  /** A byte stream connected to the Unix socket `path` on the host. */
  openUnixSocket(path: string, opts?: UnixSocketOptions): Promise<Duplex>;
  /** Releases the connection; later calls may reconnect. */
  close(): Promise<void>;
}

/** Quotes one word for a POSIX shell. */
export function shellQuote(word: string): string {
  if (/^[A-Za-z0-9_@%+=:,./-]+$/.test(word)) return word;
  return `'${word.replace(/'/g, `'\\''`)}'`;
}

/** The command line run on a host: wrapped in `sudo -n sh -c` only when sudo is asked for and the user is not root. */
export function withSudo(cmd: string, user: string, sudo: boolean | undefined): string {
  if (!sudo || user === 'root') return cmd;
  // -n: never prompt; a password prompt would hang an unattended upgrade.
  return `sudo -n sh -c ${shellQuote(cmd)}`;
}

/** A command that exited non-zero (or failed to run) on a host. */
export class RemoteCommandError extends HoistError {
  readonly exitStatus: number;
  readonly stdout: string;
  readonly stderr: string;

  constructor(node: string, cmd: string, result: ExecResult) {
    const how = result.signal ? `killed by signal ${result.signal}` : `exit code ${result.exitCode}`;
    super('ERR_REMOTE_COMMAND', `command failed on ${node} (${how}): ${abbreviate(cmd)}`, ExitCode.unexpected, {
      node,
      details: tailLines(result.stderr, 10),
      hint: `run the command on ${node} by hand to see the whole output`,
    });
    this.exitStatus = result.exitCode;
    this.stdout = result.stdout;
    this.stderr = result.stderr;
  }
}

/** The error for a command that ran longer than its timeout. */
export function remoteTimeoutError(node: string, cmd: string, timeoutMs: number): HoistError {
  return new HoistError(
    'ERR_REMOTE_TIMEOUT',
    `command timed out on ${node} after ${timeoutMs} ms: ${abbreviate(cmd)}`,
    ExitCode.unexpected,
    {
      node,
      hint: 'the command was killed; check the node, or raise the timeout if it is just slow',
    },
  );
}

/** A command line short enough for a one-line message. */
export function abbreviate(cmd: string, max = 120): string {
  const flat = cmd.replace(/\s+/g, ' ').trim();
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
}

/** The last `count` non-empty lines of `text`. */
export function tailLines(text: string, count: number): string[] {
  return text
    .split('\n')
    .map((l) => l.trimEnd())
    .filter((l) => l !== '')
    .slice(-count);
}
