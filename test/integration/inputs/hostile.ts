/**
 * Runs the built `bin/hoist` as a child process on hostile inputs and measures what a user would
 * notice: exit code, output, wall time and the child's peak memory (VmHWM, polled from /proc).
 * Each run happens in its own temp dir (cwd, state dir, TMPDIR, HOME), so a test can prove that
 * nothing outside it changed.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root: where `bin/hoist` and `dist/` are. */
export const REPO = fileURLToPath(new URL('../../../', import.meta.url));
export const HOIST = path.join(REPO, 'bin', 'hoist');

/** Generous bounds that catch a hang or a blow-up, not a slow machine. */
export const BOUNDS = { ms: 20_000, rssMb: 300 } as const;

/** What one run printed, how it exited, and what it cost. */
export interface HostileRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  ms: number;
  peakRssMb: number;
  /** The child's CPU time as last sampled before it exited (a lower bound), ms. */
  cpuMs: number;
}

/** Options of {@link runHoist}. */
export interface RunOptions {
  cwd: string;
  env?: Record<string, string>;
  /** Signals to send, each after `afterMs` (measured from the start, or from `whenStderr` matching). */
  signals?: { signal: NodeJS.Signals; afterMs: number }[];
  /** Start the signal clock only once stderr matches (or after 5 s anyway). */
  whenStderr?: RegExp;
  /**
   * Start the signal clock only once the child has used this much CPU time (or after 30 s
   * anyway). CPU time does not stretch with the machine's load as wall time does, so a signal
   * aimed past start-up lands in the work that follows it on a busy machine too.
   */
  whenCpuMs?: number;
  /** Kill the child after this long (a hang); the run then reports signal SIGKILL. */
  killAfterMs?: number;
  /** Close our end of stdout at once (as `| head -1` does once it has its line). */
  closeStdout?: boolean;
}

async function vmHwmKb(pid: number): Promise<number> {
  const status = await fs.readFile(`/proc/${pid}/status`, 'utf8').catch(() => '');
  const m = /^VmHWM:\s+(\d+) kB/m.exec(status);
  return m ? Number(m[1]) : 0;
}

/** User plus system CPU time of process `pid` so far, ms (fields 14 and 15 of /proc/PID/stat, in 1/100 s). */
async function cpuMs(pid: number): Promise<number> {
  const stat = await fs.readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '');
  // The command name (field 2) may hold spaces; the fields after it are counted from its `)`.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11] ?? 0) + Number(fields[12] ?? 0)) * 10;
}

/** Runs `bin/hoist args` in `cwd` with a private state dir, TMPDIR and HOME under `cwd`. */
export function runHoist(args: string[], options: RunOptions): Promise<HostileRun> {
  const started = Date.now();
  const env = {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: options.cwd,
    TMPDIR: options.cwd,
    HOIST_STATE_DIR: path.join(options.cwd, 'state'),
    NO_COLOR: '1',
    ...options.env,
  };
  const child = spawn(process.execPath, [HOIST, ...args], { cwd: options.cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  let peakKb = 0;
  let cpuSeen = 0;
  const timers: NodeJS.Timeout[] = [];
  const armSignals = (): void => {
    for (const s of options.signals ?? []) timers.push(setTimeout(() => child.kill(s.signal), s.afterMs));
  };
  let armed = false;
  const arm = (): void => {
    if (armed) return;
    armed = true;
    armSignals();
  };
  if (options.whenCpuMs !== undefined) {
    const target = options.whenCpuMs;
    const watch = setInterval(() => {
      if (child.pid === undefined || armed) return clearInterval(watch);
      void cpuMs(child.pid).then((ms) => {
        cpuSeen = Math.max(cpuSeen, ms);
        if (ms >= target) arm();
      });
    }, 20);
    timers.push(watch, setTimeout(arm, 30_000));
  } else if (options.whenStderr === undefined) arm();
  else timers.push(setTimeout(arm, 5_000));
  if (options.closeStdout) child.stdout.destroy();
  else child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
  child.stderr.on('data', (chunk: Buffer) => {
    if (stderr.length < 1_000_000) stderr += chunk.toString('utf8');
    if (options.whenStderr?.test(stderr)) arm();
  });
  const poll = setInterval(() => {
    if (child.pid === undefined) return;
    void vmHwmKb(child.pid).then((kb) => (peakKb = Math.max(peakKb, kb)));
    void cpuMs(child.pid).then((ms) => (cpuSeen = Math.max(cpuSeen, ms)));
  }, 20);
  if (options.killAfterMs !== undefined) timers.push(setTimeout(() => child.kill('SIGKILL'), options.killAfterMs));
  return new Promise((resolve) => {
    child.on('exit', (code, signal) => {
      clearInterval(poll);
      for (const t of timers) clearTimeout(t);
      // Let the pipes drain what was written before the exit.
      setTimeout(() => resolve({ code, signal, stdout, stderr, ms: Date.now() - started, peakRssMb: peakKb / 1024, cpuMs: cpuSeen }), 50);
    });
  });
}

/** A fresh temp dir for one scenario. */
export async function scratch(tag: string): Promise<string> {
  return fs.mkdtemp(path.join(os.tmpdir(), `hoist-${tag}-`));
}

/** Every path under `root` with its type, mode and sha256: equal snapshots mean nothing changed. */
export async function snapshot(root: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  async function walk(dir: string): Promise<void> {
    for (const name of (await fs.readdir(dir)).sort()) {
      const abs = path.join(dir, name);
      const rel = path.relative(root, abs);
      const st = await fs.lstat(abs);
      if (st.isDirectory()) {
        out[rel] = `dir ${st.mode.toString(8)}`;
        await walk(abs);
      } else if (st.isFile()) {
        out[rel] = `file ${st.mode.toString(8)} ${createHash('sha256')
          .update(await fs.readFile(abs))
          .digest('hex')}`;
      } else {
        out[rel] = `other ${st.mode.toString(8)}`;
      }
    }
  }
  await walk(root);
  return out;
}

/** The last non-empty line of stderr that starts with `error[`, if any. */
export function errorLine(run: HostileRun): string {
  return run.stderr.split('\n').find((l) => l.startsWith('error[')) ?? '';
}

/** True when the output holds a JavaScript stack frame. */
export function hasStack(text: string): boolean {
  return /\n\s+at .+:\d+:\d+\)?/.test(text);
}
