/**
 * How hoist's Kubernetes operations reach kubectl. The orchestrator passes a runner that executes
 * on the lead master through its agent; tests and the local node use `localKubectlRunner`.
 * A non-zero exit is data here; the operations decide what it means.
 */
import type { KubeApi } from './api.js';

/** Options of one kubectl run. */
export interface KubectlRunOptions {
  signal?: AbortSignal;
  /** Written to kubectl's stdin (manifests for `-f -`). */
  stdin?: string;
  /** Output as it arrives (drain progress, job logs); chunks are not split into lines. */
  onStdout?: (chunk: string) => void;
  onStderr?: (chunk: string) => void;
  /** Kill kubectl after this long; the result then has `timedOut`. */
  timeoutMs?: number;
}

/** Outcome of one kubectl run. */
export interface KubectlResult {
  exitCode: number;
  stdout: string;
  stderr: string;
  /** Set when the runner killed kubectl because `timeoutMs` passed. */
  timedOut?: boolean;
}

/** Runs kubectl with the given arguments (without the `kubectl` word itself). */
export interface KubectlRunner {
  run(args: string[], opts?: KubectlRunOptions): Promise<KubectlResult>;
  /** The API without a kubectl process per call, where the runner has one (api.ts). */
  api?: KubeApi;
}

/** Options every operation accepts. */
export interface KubeCallOptions {
  signal?: AbortSignal;
}

/** Feeds complete lines of a chunked stream to `onLine`; `flush()` passes the unterminated rest. */
export function lineSplitter(onLine: (line: string) => void): { push(chunk: string): void; flush(): void } {
  let rest = '';
  return {
    push(chunk) {
      rest += chunk;
      const lines = rest.split('\n');
      rest = lines.pop() ?? '';
      for (const line of lines) onLine(line.replace(/\r$/, ''));
    },
    flush() {
      if (rest) onLine(rest);
      rest = '';
    },
  };
}
