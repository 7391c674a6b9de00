/** Runs `main` in-process with captured stdout/stderr and a private state dir. */
import { PassThrough, Writable } from 'node:stream';
import { main } from '../../src/cli/main.js';

class Capture extends Writable {
  text = '';
  override _write(chunk: Buffer, _enc: BufferEncoding, done: () => void): void {
    this.text += chunk.toString('utf8');
    done();
  }
}

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

export async function runCli(
  args: string[],
  opts: { stateDir: string; cwd?: string; interactive?: boolean; input?: string; signal?: AbortSignal },
): Promise<CliResult> {
  const stdout = new Capture();
  const stderr = new Capture();
  const stdin = new PassThrough();
  if (opts.input !== undefined) stdin.end(opts.input);
  const code = await main(['node', 'hoist', ...args], {
    stdout,
    stderr,
    stdin,
    env: { HOIST_STATE_DIR: opts.stateDir },
    cwd: opts.cwd ?? process.cwd(),
    interactive: opts.interactive ?? false,
    signal: opts.signal ?? new AbortController().signal,
  });
  return { code, stdout: stdout.text, stderr: stderr.text };
}
