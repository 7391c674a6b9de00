/** Runs `main` in-process with captured stdout/stderr and a private state dir. */
import { PassThrough, type Readable, Writable } from 'node:stream';
import { main } from '../../src/cli/main.js';

class Capture extends Writable {
  text = '';
  constructor(private readonly onText?: (text: string) => void) {
    super();
  }
  override _write(chunk: Buffer, _enc: BufferEncoding, done: () => void): void {
    this.text += chunk.toString('utf8');
    this.onText?.(this.text);
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
  opts: {
    stateDir: string;
    cwd?: string;
    interactive?: boolean;
    input?: string;
    stdin?: Readable;
    signal?: AbortSignal;
    onStderr?: (all: string) => void;
  },
): Promise<CliResult> {
  const stdout = new Capture();
  const stderr = new Capture(opts.onStderr);
  const stdin = opts.stdin ?? inputStream(opts.input);
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

/** stdin with `input` on it, or one that stays open (a terminal nobody types into). */
function inputStream(input: string | undefined): PassThrough {
  const stream = new PassThrough();
  if (input !== undefined) stream.end(input);
  return stream;
}
