/**
 * `node.probe`: the read-only look `hoist status` and the upgrade's health gate take at a node:
 * the running runtime's `health` hook with a short limit, and (on a master) the Kubernetes nodes.
 * It changes nothing, so an agent serving an operation answers it for anyone (node-lease.ts).
 */
import { z } from 'zod';
import { execHookAction } from './exec-hook.js';
import type { KubeRunResult } from './kube-run.js';
import { kubeRunAction } from './kube-run.js';
import { capturing, defineAction } from './types.js';

/** Lines of a failed probe's output kept for the operator. */
const TAIL_LINES = 20;

/** What the runtime's health hook said. */
export interface HealthProbe {
  healthy: boolean;
  /** The hook's last output line, or its error when it printed nothing. */
  message: string;
  /** The hook's last output lines. */
  tail: string[];
}

/** Result of `node.probe`. */
export interface ProbeResult {
  health?: HealthProbe;
  /** `kubectl get nodes -o json` as run on this node. */
  kubeNodes?: KubeRunResult;
}

/** Runs the requested probes; a failing probe is data, not an error. */
export const nodeProbeAction = defineAction({
  name: 'node.probe',
  description: 'probe runtime health and Kubernetes nodes (read-only)',
  params: z.object({
    /** The runtime package whose `health` hook is run ("runtime:7.0.35-11706"). */
    health: z.string().min(1).max(256).optional(),
    kubeNodes: z.boolean().default(false),
    timeoutSeconds: z.number().int().positive().max(120).default(5),
  }),
  async run(ctx, p): Promise<ProbeResult> {
    const result: ProbeResult = {};
    if (p.health) {
      const quiet = capturing(ctx);
      const tail = (): string[] =>
        quiet
          .text()
          .split('\n')
          .filter((l) => l.trim())
          .slice(-TAIL_LINES);
      try {
        const params = execHookAction.params.parse({ package: p.health, hook: 'health', timeoutSeconds: p.timeoutSeconds });
        await execHookAction.run(quiet.ctx, params);
        result.health = { healthy: true, message: tail().at(-1) ?? 'healthy', tail: tail() };
      } catch (err) {
        result.health = { healthy: false, message: failureMessage(err, tail().at(-1)), tail: tail() };
      }
    }
    if (p.kubeNodes) {
      const params = kubeRunAction.params.parse({ args: ['get', 'nodes', '-o', 'json'], timeoutSeconds: p.timeoutSeconds * 2 });
      result.kubeNodes = await kubeRunAction.run({ ...ctx, output: () => undefined }, params);
    }
    return result;
  },
});

/**
 * Why a health hook failed. One that exited non-zero said so on its last line (the hook contract);
 * one that was killed (its timeout, the agent stopping) did not, whatever it printed last, which
 * may even be "healthy" when the kill came just after.
 */
function failureMessage(err: unknown, last: string | undefined): string {
  const message = err instanceof Error ? err.message : String(err);
  const exited = (err as { code?: unknown }).code === 'ERR_HOOK_FAILED' && /exited with code/.test(message);
  if (exited && last) return last;
  return last ? `${message} (its last line: ${last})` : message;
}
