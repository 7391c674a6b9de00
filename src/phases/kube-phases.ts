/**
 * Kubernetes phases (spec §7), all run by kubectl on the lead master through its agent:
 * kubelet-permissions, drain, taint, uncordon, endpoints, untaint, coredns, migration labels.
 * Rollbacks: permissions → delete, drain → uncordon, taint → untaint, labels → previous version.
 */
import type { Executor, PhaseContext } from '../fsm/executor.js';
import {
  cordon,
  defaultEndpointTargets,
  drain,
  ensureCoreDns,
  grantKubeletPermissions,
  labelNode,
  revokeKubeletPermissions,
  taintNode,
  uncordon,
  untaintNode,
  waitEndpoints,
} from '../kube/index.js';
import type { KubectlRunner } from '../kube/runner.js';
import type { ExecutorKey } from '../plan/phase-data.js';
import { dataOf, type PhaseDeps, serverOf } from './deps.js';
import { agentKubectl } from './kube-runner.js';

type Step = (kube: KubectlRunner, ctx: PhaseContext, deps: PhaseDeps) => Promise<void>;

const nothing: Step = async (_k, ctx) => {
  ctx.logger.info({ event: 'kube.rollback' }, `${ctx.phase.id} changes nothing that needs undoing`);
};

function kubeExecutor(deps: PhaseDeps, execute: Step, rollback: Step, what: (ctx: Pick<PhaseContext, 'phase'>) => string): Executor {
  return {
    execute: (ctx) => execute(agentKubectl(deps, ctx), ctx, deps),
    rollback: (ctx) => rollback(agentKubectl(deps, ctx), ctx, deps),
    describe: (ctx) => what(ctx),
  };
}

const about = (ctx: Pick<PhaseContext, 'phase'>): string => ctx.phase.server ?? ctx.phase.node ?? '';

/** Executors of the Kubernetes phases, by key. */
export const kubeExecutors = {
  'kubelet-permissions': (deps: PhaseDeps) =>
    kubeExecutor(
      deps,
      (k, ctx) => grantKubeletPermissions(k, { signal: ctx.signal }),
      (k, ctx) => revokeKubeletPermissions(k, { signal: ctx.signal }),
      () => 'let kubelet patch nodes/status during the upgrade',
    ),
  drain: (deps: PhaseDeps) =>
    kubeExecutor(
      deps,
      (k, ctx, d) =>
        drain(k, serverOf(ctx), {
          signal: ctx.signal,
          timeoutMs: d.drainTimeoutMs ?? 3_600_000,
          onProgress: (line) => progress(ctx, line),
        }),
      (k, ctx) => uncordon(k, serverOf(ctx), { signal: ctx.signal }),
      (ctx) => `cordon and drain ${about(ctx)}`,
    ),
  taint: (deps: PhaseDeps) =>
    kubeExecutor(
      deps,
      (k, ctx) => taintNode(k, serverOf(ctx), { signal: ctx.signal }),
      (k, ctx) => untaintNode(k, serverOf(ctx), { signal: ctx.signal }),
      (ctx) => `taint ${about(ctx)} hoist/runlevel=system:NoExecute`,
    ),
  uncordon: (deps: PhaseDeps) =>
    kubeExecutor(
      deps,
      (k, ctx) => uncordon(k, serverOf(ctx), { signal: ctx.signal }),
      (k, ctx) => cordon(k, serverOf(ctx), { signal: ctx.signal }),
      (ctx) => `uncordon ${about(ctx)}`,
    ),
  endpoints: (deps: PhaseDeps) =>
    kubeExecutor(
      deps,
      (k, ctx) => waitEndpoints(k, defaultEndpointTargets(dataOf('endpoints', ctx).role), { signal: ctx.signal }),
      nothing,
      (ctx) => `wait for DNS and cluster endpoints after ${about(ctx)}`,
    ),
  untaint: (deps: PhaseDeps) =>
    kubeExecutor(
      deps,
      (k, ctx) => untaintNode(k, serverOf(ctx), { signal: ctx.signal }),
      nothing,
      (ctx) => `remove the taint from ${about(ctx)}`,
    ),
  coredns: (deps: PhaseDeps) =>
    kubeExecutor(
      deps,
      async (k, ctx) => {
        const r = await ensureCoreDns(k, { signal: ctx.signal });
        ctx.logger.info({ event: 'coredns', result: r }, 'CoreDNS resources provisioned');
      },
      nothing,
      () => 'create the CoreDNS ClusterRole, binding and Corefile if absent',
    ),
  'migrate-labels': (deps: PhaseDeps) =>
    kubeExecutor(
      deps,
      (k, ctx) => relabel(k, ctx, ctx.operation.to),
      (k, ctx) => relabel(k, ctx, ctx.operation.from),
      () => 'label every node with the version it now runs (hoist/version)',
    ),
} satisfies Partial<Record<ExecutorKey, (deps: PhaseDeps) => Executor>>;

/** The version label every node carries, rewritten after an upgrade (and back on rollback). */
async function relabel(k: KubectlRunner, ctx: PhaseContext, version: string): Promise<void> {
  for (const s of ctx.plan.servers) await labelNode(k, s.name, { 'hoist/version': version, 'hoist/role': s.role }, { signal: ctx.signal });
}

/** Drain progress goes to the live status line and, for blocked evictions, to the log. */
function progress(ctx: PhaseContext, line: string): void {
  ctx.report(line);
  if (/budget|evict/i.test(line)) ctx.logger.info({ event: 'drain.progress' }, line);
}
