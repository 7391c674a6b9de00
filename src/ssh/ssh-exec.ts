/** Running one command over an ssh2 exec channel: streaming, exit status, timeout and abort. */
import { Readable } from 'node:stream';
import type { Client, ClientChannel } from 'ssh2';
import { InterruptedError, UnreachableError } from '../errors.js';
import { abbreviate, type ExecOptions, type ExecResult, remoteTimeoutError, shellQuote } from './transport.js';

/** The error for a command cut short by its AbortSignal. */
function abortError(node: string, cmd: string, signal: AbortSignal): InterruptedError {
  return new InterruptedError(`command on ${node} aborted: ${abbreviate(cmd)}`, { node, cause: signal.reason });
}

/** The error for a connection that died under a running channel. */
export function disconnectedError(node: string, what: string, cause?: unknown): UnreachableError {
  return new UnreachableError('ERR_SSH_DISCONNECTED', `SSH connection to ${node} lost while ${what}`, {
    node,
    cause,
    hint: `check that ${node} is up; the next command reconnects`,
  });
}

/** How a channel ended, as far as it has: its exit status (or signal) and whether it closed. */
interface ChannelEnd {
  code?: number;
  signal?: string;
  closed: boolean;
}

const ends = new WeakMap<ClientChannel, ChannelEnd>();

/**
 * How `channel` (opened by {@link openExecChannel}) ended so far. ssh2 parses the open
 * confirmation, the exit status and the close of a fast command from one packet batch and emits
 * them at once, before the caller's `await` resumes: listeners attached afterwards would miss them.
 */
function channelEnd(channel: ClientChannel): ChannelEnd {
  return ends.get(channel) ?? { closed: false };
}

/** Opens an exec channel; the command line is sent exactly as given. */
export function openExecChannel(client: Client, node: string, cmd: string): Promise<ClientChannel> {
  return new Promise((resolve, reject) => {
    try {
      client.exec(cmd, (err, channel) => {
        if (err) return reject(disconnectedError(node, `starting ${abbreviate(cmd, 60)}`, err));
        // Recorded from the first moment (see channelEnd).
        const end: ChannelEnd = { closed: false };
        ends.set(channel, end);
        channel.on('exit', (code: number | null, sig?: string) => {
          if (typeof code === 'number') end.code = code;
          else if (sig) end.signal = sig;
        });
        channel.on('close', () => {
          end.closed = true;
        });
        resolve(channel);
      });
    } catch (err) {
      // ssh2 throws synchronously when the socket is already gone.
      reject(disconnectedError(node, `starting ${abbreviate(cmd, 60)}`, err));
    }
  });
}

/**
 * Killing a remote command: OpenSSH ignores "signal" channel requests for root logins (it skips
 * post-auth privilege separation for root, and signalling needs it), and closing the channel
 * leaves a command that ignores its stdin running. So every command first reports its process
 * group on stderr (sshd puts each session in a new session and group, so the group id is the
 * shell's `$$`), then execs the command; a timeout or abort kills that group over a second
 * channel. The marker is removed from stderr before anyone sees it.
 */
// biome-ignore lint/suspicious/noControlCharactersInRegex: the record separator frames the marker so no command output can fake it.
const PGID_MARKER = /\x1ehoist-pgid:(\d+)\x1e\n/;

/** The line sent to sshd: the process-group marker, then `cmd` (wrapped by `wrap` for sudo). */
function execLine(cmd: string, wrap: (c: string) => string): string {
  return `printf '\\036hoist-pgid:%s\\036\\n' "$$" >&2; exec sh -c ${shellQuote(wrap(cmd))}`;
}

/** Runs `cmd` and collects its output; `wrap` adds sudo when asked for. */
export async function execOnClient(
  client: Client,
  node: string,
  cmd: string,
  opts: ExecOptions,
  wrap: (c: string) => string,
): Promise<ExecResult> {
  const { signal } = opts;
  if (signal?.aborted) throw abortError(node, cmd, signal);
  const channel = await openExecChannel(client, node, execLine(cmd, wrap));
  return new Promise<ExecResult>((resolve, reject) => {
    const stdout: Buffer[] = [];
    const stderr: Buffer[] = [];
    const marker = new MarkerFilter((chunk) => {
      stderr.push(chunk);
      opts.onStderr?.(chunk);
    });
    const end = channelEnd(channel);
    let done = false;
    let timer: NodeJS.Timeout | undefined;

    const finish = (err?: unknown) => {
      if (done) return;
      done = true;
      if (timer) clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      if (err) {
        reject(err);
        return;
      }
      marker.flush();
      if (end.code === undefined && end.signal === undefined) {
        reject(disconnectedError(node, `running ${abbreviate(cmd, 60)}`));
        return;
      }
      resolve({
        exitCode: end.code ?? -1,
        ...(end.signal ? { signal: end.signal } : {}),
        stdout: Buffer.concat(stdout).toString('utf8'),
        stderr: Buffer.concat(stderr).toString('utf8'),
      });
    };
    let stopping: unknown;
    const stop = (err: unknown) => {
      if (done || stopping) return;
      stopping = err;
      // stdout and stderr are separate streams: output may arrive before the marker does.
      void marker.pgid
        .then((pgid) => (pgid === undefined ? undefined : killGroup(client, node, pgid, wrap)))
        .finally(() => {
          channel.close();
          finish(err);
        });
    };
    const onAbort = () => stop(abortError(node, cmd, signal!));

    channel.on('data', (chunk: Buffer) => {
      stdout.push(chunk);
      opts.onStdout?.(chunk);
    });
    channel.stderr.on('data', (chunk: Buffer) => marker.write(chunk));
    // Once stopping, the close that the kill causes must not resolve the call as a normal exit.
    channel.on('close', () => finish(stopping));
    channel.on('error', (err: Error) => finish(disconnectedError(node, `running ${abbreviate(cmd, 60)}`, err)));

    if (opts.timeoutMs !== undefined) {
      timer = setTimeout(() => stop(remoteTimeoutError(node, cmd, opts.timeoutMs!)), opts.timeoutMs);
    }
    signal?.addEventListener('abort', onAbort, { once: true });
    feedStdin(channel, opts.stdin);
    // The output is buffered by the streams until read, but a close that came before this point
    // was emitted to nobody: its data has been read above, so the call can finish now.
    if (end.closed) setImmediate(() => finish(stopping));
  });
}

/** Kills a process group on the node; best effort, bounded, never rejects. */
async function killGroup(client: Client, node: string, pgid: number, wrap: (c: string) => string): Promise<void> {
  try {
    const channel = await openExecChannel(client, node, wrap(`kill -KILL -- -${pgid} 2>/dev/null || kill -KILL ${pgid}`));
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, 5_000);
      channel.on('close', () => {
        clearTimeout(timer);
        resolve();
      });
      channel.resume();
      channel.stderr.resume();
      channel.end();
    });
  } catch {
    // connection gone: the command dies with its session or not at all; nothing more to do here
  }
}

/** Strips the process-group marker from the start of stderr, passing everything else on. */
class MarkerFilter {
  /** The command's process group; undefined when the marker never came (or not within 5 s). */
  readonly pgid: Promise<number | undefined>;
  private settle!: (pgid: number | undefined) => void;
  private pending: Buffer | null = Buffer.alloc(0);

  constructor(private readonly forward: (chunk: Buffer) => void) {
    this.pgid = new Promise((resolve) => {
      this.settle = resolve;
      setTimeout(() => resolve(undefined), 5_000).unref();
    });
  }

  write(chunk: Buffer): void {
    if (this.pending === null) return this.forward(chunk);
    this.pending = Buffer.concat([this.pending, chunk]);
    // latin1 keeps one character per byte, so match offsets are byte offsets.
    const match = PGID_MARKER.exec(this.pending.toString('latin1'));
    if (match) {
      this.settle(Number(match[1]));
      const before = this.pending.subarray(0, match.index);
      const after = this.pending.subarray(match.index + match[0].length);
      this.pending = null;
      if (before.length) this.forward(before);
      if (after.length) this.forward(after);
    } else if (this.pending.length > 65_536) {
      this.flush(); // no marker (odd login shell): give up on it rather than hold stderr back
    }
  }

  flush(): void {
    this.settle(undefined);
    if (this.pending?.length) this.forward(this.pending);
    this.pending = null;
  }
}

function feedStdin(channel: ClientChannel, stdin: ExecOptions['stdin']): void {
  if (stdin === undefined) channel.end();
  else if (stdin instanceof Readable) stdin.pipe(channel);
  else channel.end(stdin);
}
