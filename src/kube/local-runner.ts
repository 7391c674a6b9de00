/**
 * A KubectlRunner that runs kubectl on this machine (execa). Every run gets `--kubeconfig` and a
 * `--cache-dir` private to the runner, so discovery cached for another server on the same
 * host:port never leaks in.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { InterruptedError } from '../errors.js';
import { stopGroupOnAbort } from '../process-group.js';
import { KubeError } from './errors.js';
import type { KubectlResult, KubectlRunner, KubectlRunOptions } from './runner.js';

/** Options of localKubectlRunner. */
export interface LocalKubectlRunnerOptions {
  kubeconfig?: string;
  /** kubectl binary (default `kubectl` from PATH). */
  kubectl?: string;
  /** Discovery cache; default a fresh temp dir removed by `close()`. */
  cacheDir?: string;
  /**
   * Run kubectl in a process group of its own and stop the whole group (TERM, then KILL) on
   * abort: how a node agent runs it, so a cancelled drain leaves nothing evicting behind.
   */
  processGroup?: boolean;
}

/** A local runner; `close()` removes the temp cache dir it created. */
export interface LocalKubectlRunner extends KubectlRunner {
  close(): void;
}

/** Builds a runner that executes kubectl locally. */
export function localKubectlRunner(options: LocalKubectlRunnerOptions = {}): LocalKubectlRunner {
  const binary = options.kubectl ?? 'kubectl';
  let ownCache: string | undefined;
  const cacheDir = (): string => {
    ownCache ??= options.cacheDir ?? mkdtempSync(path.join(tmpdir(), 'hoist-kubectl-'));
    return ownCache;
  };

  return {
    async run(args: string[], opts: KubectlRunOptions = {}): Promise<KubectlResult> {
      const full = [...(options.kubeconfig ? ['--kubeconfig', options.kubeconfig] : []), '--cache-dir', cacheDir(), ...args];
      const child = execa(binary, full, {
        reject: false,
        stripFinalNewline: false,
        ...(opts.stdin !== undefined ? { input: opts.stdin } : { stdin: 'ignore' as const }),
        ...(opts.timeoutMs ? { timeout: opts.timeoutMs } : {}),
        ...(opts.signal && !options.processGroup ? { cancelSignal: opts.signal } : {}),
        ...(options.processGroup ? { detached: true } : {}),
      });
      const disarm = options.processGroup && opts.signal ? stopGroupOnAbort(child.pid, opts.signal) : undefined;
      if (opts.onStdout) child.stdout?.on('data', (chunk: Buffer) => opts.onStdout!(chunk.toString('utf8')));
      if (opts.onStderr) child.stderr?.on('data', (chunk: Buffer) => opts.onStderr!(chunk.toString('utf8')));
      const result = await child.finally(() => disarm?.());
      if (result.isCanceled || (disarm && opts.signal?.aborted)) throw new InterruptedError(`kubectl ${args[0] ?? ''} was interrupted`);
      if ((result as { code?: string }).code === 'ENOENT') {
        throw new KubeError('ERR_KUBE_KUBECTL_NOT_FOUND', `kubectl not found: ${binary}`, {
          hint: 'install kubectl (or point hoist at it) and re-run',
        });
      }
      return {
        exitCode: result.exitCode ?? (result.timedOut ? 124 : 1),
        stdout: String(result.stdout ?? ''),
        stderr: String(result.stderr ?? ''),
        ...(result.timedOut ? { timedOut: true } : {}),
      };
    },
    close() {
      if (ownCache) rmSync(ownCache, { recursive: true, force: true });
      ownCache = undefined;
    },
  };
}
