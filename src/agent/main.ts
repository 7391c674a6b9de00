/**
 * Entry point of the bundled agent (`hoist-agent.mjs --state-dir DIR`). Serves until SIGTERM,
 * SIGINT or a `shutdown` request, then removes its socket and pid file. Logs go to
 * `<stateDir>/agent/agent.log`; stdout and stderr carry only `--version` and startup failures.
 */
import { mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import pino from 'pino';
import { ExitCode, HoistError } from '../errors.js';
import { runActionLocally } from './actions/run-local.js';
import { startAgent } from './server.js';

// Replaced with the package version by the bundler (bundle.ts); unbundled runs read package.json.
declare const __HOIST_AGENT_VERSION__: string | undefined;

const USAGE = 'usage: hoist-agent --state-dir DIR [--build SHA256] [--debug] [--once ACTION] | --version';

/** The version this agent reports in `hello` and `facts`. */
export function agentVersion(): string {
  if (typeof __HOIST_AGENT_VERSION__ === 'string') return __HOIST_AGENT_VERSION__;
  try {
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version?: unknown };
    return typeof pkg.version === 'string' ? pkg.version : '0.0.0-unknown';
  } catch {
    return '0.0.0-unknown';
  }
}

/** Runs the agent with command-line `argv`; resolves with the exit code once it has stopped. */
export async function agentMain(argv: string[]): Promise<number> {
  let args;
  try {
    args = parseArgs({
      args: argv,
      options: {
        'state-dir': { type: 'string' },
        build: { type: 'string' },
        version: { type: 'boolean' },
        debug: { type: 'boolean' },
        once: { type: 'string' },
      },
      strict: true,
    }).values;
  } catch (err) {
    process.stderr.write(`error[ERR_AGENT_USAGE]: ${(err as Error).message}\n${USAGE}\n`);
    return ExitCode.usage;
  }
  const version = agentVersion();
  if (args.version) {
    process.stdout.write(`${version}\n`);
    return ExitCode.ok;
  }
  if (!args['state-dir']) {
    process.stderr.write(`error[ERR_AGENT_USAGE]: --state-dir is required\n${USAGE}\n`);
    return ExitCode.usage;
  }
  const stateDir = path.resolve(args['state-dir']);
  if (args.once) return runOnce(stateDir, args.once, version);
  const logFile = path.join(stateDir, 'agent', 'agent.log');
  mkdirSync(path.dirname(logFile), { recursive: true, mode: 0o700 });
  const destination = pino.destination({ dest: logFile, mkdir: true, sync: true });
  const log = pino({ level: args.debug ? 'debug' : 'info', base: { name: 'hoist-agent', pid: process.pid } }, destination);

  process.on('uncaughtException', (err) => {
    log.fatal({ err }, 'agent crashed');
    process.exit(70);
  });
  let agent;
  try {
    agent = await startAgent({ stateDir, version, log, ...(args.build ? { build: args.build } : {}) });
  } catch (err) {
    log.error({ err }, 'agent could not start');
    const hint = HoistError.isHoistError(err) && err.hint ? `hint: ${err.hint}\n` : '';
    const code = HoistError.isHoistError(err) ? err.code : 'ERR_AGENT_START';
    process.stderr.write(`error[${code}]: ${(err as Error).message}\n${hint}`);
    return HoistError.isHoistError(err) ? err.exitCode : ExitCode.unexpected;
  }
  const stop = (signal: NodeJS.Signals): void => {
    log.info({ signal }, 'signal received');
    void agent.stop();
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
  await agent.stopped;
  return ExitCode.ok;
}

/**
 * `--once ACTION`: runs one read-only action with the params JSON on stdin and prints one JSON line
 * (`{"result":…}` or `{"error":{code,message,hint}}`), writing nothing on the node: how `hoist
 * status` reads a node where no agent runs, from a bundle it removes again.
 */
async function runOnce(stateDir: string, action: string, version: string): Promise<number> {
  if (!ONCE_ACTIONS.has(action)) {
    process.stderr.write(`error[ERR_AGENT_USAGE]: --once runs only ${[...ONCE_ACTIONS].join(', ')}\n`);
    return ExitCode.usage;
  }
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  let line: unknown;
  try {
    const params = JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}') as Record<string, unknown>;
    line = { result: await runActionLocally(stateDir, action, params, { version }) };
  } catch (err) {
    const e = err as Error & { code?: unknown; hint?: unknown };
    line = { error: { code: typeof e.code === 'string' ? e.code : 'ERR_AGENT_ONCE', message: e.message, hint: e.hint ?? null } };
  }
  process.stdout.write(`${JSON.stringify(line)}\n`);
  return ExitCode.ok;
}

/** What `--once` may run: actions that only read the node (a health hook only looks). */
const ONCE_ACTIONS = new Set(['facts', 'node.probe', 'report.collect']);

// Detached hook processes and grace timers must not keep a stopped agent alive.
agentMain(process.argv.slice(2)).then(
  (code) => process.exit(code),
  () => process.exit(70),
);
