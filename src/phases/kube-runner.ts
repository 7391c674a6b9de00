/** A KubectlRunner that runs kubectl on the lead master through its agent (`kube.run`). */
import type { KubeRunResult } from '../agent/actions/kube-run.js';
import type { PhaseContext } from '../fsm/executor.js';
import type { KubectlResult, KubectlRunner, KubectlRunOptions } from '../kube/runner.js';
import { nodeOf, type PhaseDeps, runOptions } from './deps.js';

/** kubectl on the node that runs the phase (the lead master for every Kubernetes phase). */
export function agentKubectl(deps: PhaseDeps, ctx: PhaseContext): KubectlRunner {
  const node = nodeOf(ctx);
  return {
    async run(args: string[], opts: KubectlRunOptions = {}): Promise<KubectlResult> {
      const base = runOptions(ctx);
      return deps.nodes.run<KubeRunResult>(
        node,
        'kube.run',
        {
          args,
          ...(opts.stdin !== undefined ? { stdin: opts.stdin } : {}),
          ...(opts.timeoutMs ? { timeoutSeconds: Math.ceil(opts.timeoutMs / 1000) } : {}),
        },
        {
          ...base,
          signal: opts.signal ?? ctx.signal,
          onOutput: (stream, data) => {
            // kubectl's errors are what an operator needs if the phase fails; its stdout is data.
            if (stream === 'stderr') ctx.output?.(data);
            return stream === 'stdout' ? opts.onStdout?.(data) : opts.onStderr?.(data);
          },
        },
      );
    },
  };
}
