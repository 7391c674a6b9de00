/**
 * `exec.hook`: runs one hook declared by an unpacked package (layout in `packages.ts`). The hook
 * gets its own process group so that a timeout or an agent shutdown stops the whole tree (a shell
 * hook's children included), not just the shell.
 */
import type { Readable } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';
import { execa } from 'execa';
import { z } from 'zod';
import { KILL_GRACE_MS, killGroup } from '../../process-group.js';
import { actionError } from '../errors.js';
import type { OutputStream } from '../protocol.js';
import { findHook, packageRefSchema } from './packages.js';
import { type ActionContext, defineAction } from './types.js';

/** Result of a successful `exec.hook`. */
export interface ExecHookResult {
  package: string;
  hook: string;
  exitCode: number;
}

/** Runs hook `hook` of installed package `package` ("name:version") in the package directory. */
export const execHookAction = defineAction({
  name: 'exec.hook',
  description: 'run a package hook',
  params: z.object({
    package: packageRefSchema,
    hook: z.string().min(1).max(128),
    /** Extra arguments for the hook (e.g. the addresses an election hook acts on). */
    args: z.array(z.string().max(4096)).max(64).default([]),
    /** A shorter limit than the package's (a probe that must answer now); never a longer one. */
    timeoutSeconds: z.number().int().positive().max(86_400).optional(),
  }),
  async run(ctx, params): Promise<ExecHookResult> {
    const label = `${params.package.name}:${params.package.version}`;
    const found = await findHook(ctx.stateDir, params.package, params.hook);
    const { dir } = found;
    const hook = { ...found.hook, timeoutSeconds: Math.min(found.hook.timeoutSeconds, params.timeoutSeconds ?? Number.POSITIVE_INFINITY) };
    // Arguments reach a shell hook as its positional parameters ("$@") and in HOIST_HOOK_ARGS, never
    // spliced into its text, so they cannot inject commands; an argv hook gets them appended.
    const [file, ...args] =
      typeof hook.run === 'string' ? ['/bin/sh', '-c', hook.run, params.hook, ...params.args] : [...hook.run, ...params.args];
    ctx.log('info', `running hook "${params.hook}" of ${label}: ${JSON.stringify(hook.run)}`);
    const child = execa(file as string, args, {
      cwd: dir,
      env: {
        HOIST_STATE_DIR: ctx.stateDir,
        HOIST_OPERATION_ID: ctx.operationId,
        HOIST_PHASE_ID: ctx.phaseId,
        HOIST_PACKAGE_DIR: dir,
        HOIST_EXECUTION_ID: ctx.executionId,
        // Hooks written in JavaScript run on the agent's own Node.js, whatever PATH holds.
        HOIST_NODE_BIN: process.execPath,
        HOIST_HOOK_ARGS: JSON.stringify(params.args),
        // The time the hook has before it is killed, so a waiting hook can give up with its reason first.
        HOIST_HOOK_TIMEOUT_SECONDS: String(hook.timeoutSeconds),
      },
      stdin: 'ignore',
      buffer: false,
      reject: false,
      detached: true,
    });
    pipeOutput(ctx, child.stdout, 'stdout');
    pipeOutput(ctx, child.stderr, 'stderr');

    let stopped: 'timeout' | 'shutdown' | undefined;
    const stop = (why: 'timeout' | 'shutdown'): void => {
      stopped ??= why;
      killGroup(child.pid, 'SIGTERM');
      graceTimer ??= setTimeout(() => killGroup(child.pid, 'SIGKILL'), KILL_GRACE_MS);
    };
    let graceTimer: NodeJS.Timeout | undefined;
    const timeoutTimer = setTimeout(() => stop('timeout'), hook.timeoutSeconds * 1000);
    const onAbort = (): void => stop('shutdown');
    ctx.signal.addEventListener('abort', onAbort, { once: true });
    const result = await child.finally(() => {
      clearTimeout(timeoutTimer);
      clearTimeout(graceTimer);
      ctx.signal.removeEventListener('abort', onAbort);
    });

    const what = `hook "${params.hook}" of ${label}`;
    if (stopped === 'timeout') {
      throw actionError(
        'ERR_HOOK_TIMEOUT',
        `${what} did not finish within ${hook.timeoutSeconds} s and was killed`,
        `see its output above; raise timeoutSeconds in ${dir}/package.yaml if it needs longer`,
      );
    }
    if (stopped === 'shutdown') {
      throw actionError(
        'ERR_AGENT_STOPPING',
        `${what} was stopped because the agent shut down`,
        'start the agent again and re-run the phase',
      );
    }
    if (result.exitCode === 0) return { package: label, hook: params.hook, exitCode: 0 };
    if (result.exitCode !== undefined) {
      throw actionError('ERR_HOOK_FAILED', `${what} exited with code ${result.exitCode}`, 'see the hook output for the cause');
    }
    if (result.signal) {
      throw actionError(
        'ERR_HOOK_FAILED',
        `${what} was killed by ${result.signal}`,
        'see the hook output and the node system log for who killed it',
      );
    }
    throw actionError(
      'ERR_HOOK_FAILED',
      `${what} could not be started: ${result.originalMessage || result.shortMessage}`,
      `check the run command in ${dir}/package.yaml`,
    );
  },
});

/** Forwards a hook stream as text; the decoder keeps multi-byte characters split across chunks whole. */
function pipeOutput(ctx: ActionContext, stream: Readable | null, name: OutputStream): void {
  if (!stream) return;
  const decoder = new StringDecoder('utf8');
  stream.on('data', (chunk: Buffer) => {
    const text = decoder.write(chunk);
    if (text) ctx.output(name, text);
  });
  stream.on('end', () => {
    const rest = decoder.end();
    if (rest) ctx.output(name, rest);
  });
}
