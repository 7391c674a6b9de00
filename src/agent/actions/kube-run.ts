/**
 * `kube.run`: kubectl on the node against the cluster's API, with the node's kubeconfig
 * (`<stateDir>/kube/kubeconfig`) and a discovery cache of its own. Output streams back as it comes
 * (drain progress, job logs); the exit code is data, judged by the orchestrator's kube operations.
 */
import path from 'node:path';
import { z } from 'zod';
import { localKubectlRunner } from '../../kube/local-runner.js';
import { defineAction } from './types.js';

/** Result of `kube.run`. */
export interface KubeRunResult {
  exitCode: number;
  stdout: string;
  stderr: string;
  timedOut?: boolean;
}

/** Runs kubectl with `args` (no shell) and the node's kubeconfig. */
export const kubeRunAction = defineAction({
  name: 'kube.run',
  description: 'run kubectl against the cluster API',
  params: z.object({
    args: z
      .array(z.string().max(16 * 1024))
      .min(1)
      .max(64),
    stdin: z
      .string()
      .max(512 * 1024)
      .optional(),
    timeoutSeconds: z
      .number()
      .positive()
      .max(24 * 3600)
      .optional(),
  }),
  async run(ctx, p): Promise<KubeRunResult> {
    const dir = path.join(ctx.stateDir, 'kube');
    const runner = localKubectlRunner({ kubeconfig: path.join(dir, 'kubeconfig'), cacheDir: path.join(dir, 'cache'), processGroup: true });
    return runner.run(p.args, {
      signal: ctx.signal,
      ...(p.stdin !== undefined ? { stdin: p.stdin } : {}),
      ...(p.timeoutSeconds ? { timeoutMs: p.timeoutSeconds * 1000 } : {}),
      onStdout: (chunk) => ctx.output('stdout', chunk),
      onStderr: (chunk) => ctx.output('stderr', chunk),
    });
  },
});
