/**
 * How the Kubernetes phases reach the cluster: kubectl on the lead master through its agent
 * (`kube.run`), and the API through the agent's long-lived kubectl proxy (`kube.api`) for the
 * node patches and endpoints reads, which would otherwise each be a kubectl process there.
 */
import type { KubeApiResult } from '../agent/actions/index.js';
import type { KubeRunResult } from '../agent/actions/kube-run.js';
import { HoistError } from '../errors.js';
import type { PhaseContext } from '../fsm/executor.js';
import { type KubeApi, type KubeApiRequest, KubeApiUnavailableError } from '../kube/api.js';
import type { KubeCallOptions, KubectlResult, KubectlRunner, KubectlRunOptions } from '../kube/runner.js';
import { nodeOf, type PhaseDeps, runOptions } from './deps.js';

/** Agent answers that mean "no API path here": the step runs kubectl instead. */
const NO_API_PATH = new Set(['ERR_KUBE_PROXY_UNAVAILABLE', 'ERR_AGENT_UNKNOWN_ACTION', 'ERR_AGENT_BAD_PARAMS']);

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
    ...(deps.kubeProxy === false ? {} : { api: agentKubeApi(deps, ctx, node) }),
  };
}

function agentKubeApi(deps: PhaseDeps, ctx: PhaseContext, node: string): KubeApi {
  return {
    async request(req: KubeApiRequest, opts: KubeCallOptions = {}) {
      const params = {
        method: req.method,
        path: req.path,
        ...(req.patch ? { patch: req.patch } : {}),
        ...(req.body !== undefined ? { body: JSON.stringify(req.body) } : {}),
      };
      try {
        const { status, body } = await deps.nodes.run<KubeApiResult>(node, 'kube.api', params, {
          ...runOptions(ctx),
          signal: opts.signal ?? ctx.signal,
        });
        return { status, body };
      } catch (err) {
        if (!HoistError.isHoistError(err) || !NO_API_PATH.has(err.code)) throw err;
        ctx.logger.warn(
          { event: 'kube.fallback', node, code: err.code },
          `no kubectl proxy on ${node} (${err.message}); ${ctx.phase.id} runs kubectl for this step instead`,
        );
        throw new KubeApiUnavailableError(err.message);
      }
    },
  };
}
