/** Running one command over an ssh2 exec channel: streaming, exit status, timeout and abort. */
import { Readable } from 'node:stream';
import type { Client, ClientChannel } from 'ssh2';
import { InterruptedError, UnreachableError } from '../errors.js';
import { abbreviate, remoteTimeoutError, type ExecOptions, type ExecResult } from './transport.js';

/** The error for a command cut short by its AbortSignal. */
export function abortError(node: string, cmd: string, signal: AbortSignal): InterruptedError {
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

/** Opens an exec channel; the command line is sent exactly as given. */
export function openExecChannel(client: Client, node: string, cmd: string): Promise<ClientChannel> {
  return new Promise((resolve, reject) => {
    try {
      client.exec(cmd, (err, channel) => (err ? reject(disconnectedError(node, `starting ${abbreviate(cmd, 60)}`, err)) : resolve(channel)));
    } catch (err) {
      // ssh2 throws synchronously when the socket is already gone.
      reject(disconnectedError(node, `starting ${abbreviate(cmd, 60)}`, err));
    }
  });
}

/** Runs `line` (already wrapped for sudo) and collects its output; `cmd` is what messages show. */
export async function execOnClient(client: Client, node: string, line: string, cmd: string, opts: ExecOptions): Promise<ExecResult> {
  const { signal } = opts;
  if (signal?.aborted) throw abortError(node, cmd, signal);
  const channel = await openExecChannel(client, node, line);
  return new Promise<ExecResult>((resolve, reject) => {
    const stdout: Buffer[] = [];
    const stderr: Buffer[] = [];
    let exitCode: number | undefined;
    let exitSignal: string | undefined;
    let done = false;
    let timer: NodeJS.Timeout | undefined;

    const finish = (err?: unknown) => {
      if (done) return;
      done = true;
      if (timer) clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      if (err) {
        channel.close();
        reject(err);
      } else if (exitCode === undefined && exitSignal === undefined) {
        reject(disconnectedError(node, `running ${abbreviate(cmd, 60)}`));
      } else {
        resolve({
          exitCode: exitCode ?? -1,
          ...(exitSignal ? { signal: exitSignal } : {}),
          stdout: Buffer.concat(stdout).toString('utf8'),
          stderr: Buffer.concat(stderr).toString('utf8'),
        });
      }
    };
    // Killing before closing: OpenSSH delivers the signal to the command, while a bare close
    // would leave a command that ignores its stdin running on the node.
    const kill = () => {
      try {
        channel.signal('KILL');
      } catch {
        // channel already gone
      }
    };
    const onAbort = () => {
      kill();
      finish(abortError(node, cmd, signal!));
    };

    channel.on('data', (chunk: Buffer) => {
      stdout.push(chunk);
      opts.onStdout?.(chunk);
    });
    channel.stderr.on('data', (chunk: Buffer) => {
      stderr.push(chunk);
      opts.onStderr?.(chunk);
    });
    channel.on('exit', (code: number | null, sig?: string) => {
      if (typeof code === 'number') exitCode = code;
      else if (sig) exitSignal = sig;
    });
    channel.on('close', () => finish());
    channel.on('error', (err: Error) => finish(disconnectedError(node, `running ${abbreviate(cmd, 60)}`, err)));

    if (opts.timeoutMs !== undefined) {
      timer = setTimeout(() => {
        kill();
        finish(remoteTimeoutError(node, cmd, opts.timeoutMs!));
      }, opts.timeoutMs);
    }
    signal?.addEventListener('abort', onAbort, { once: true });
    feedStdin(channel, opts.stdin);
  });
}

function feedStdin(channel: ClientChannel, stdin: ExecOptions['stdin']): void {
  if (stdin === undefined) channel.end();
  else if (stdin instanceof Readable) stdin.pipe(channel);
  else channel.end(stdin);
}
