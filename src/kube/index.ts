/** hoist's Kubernetes operations, run through kubectl on the lead master (or locally). */

export { applyResources, deleteResources, type ResourcesOptions } from './apply.js';
export { DRAIN_TIMEOUT_MS, type DrainOptions, drain, findBudgetForPod } from './drain.js';
export { type BlockedEviction, type BudgetInfo, describeBlocked, parseBlockedEviction } from './drain-progress.js';
export {
  defaultEndpointTargets,
  ENDPOINTS_TIMEOUT_MS,
  type EndpointsTarget,
  type WaitEndpointsOptions,
  waitEndpoints,
} from './endpoints.js';
export { HookJobError, KubeError, KubeManifestError } from './errors.js';
export { HOOK_JOB_TIMEOUT_MS, type HookJobOptions, type HookJobResult, runHookJob } from './hook-job.js';
export { type LocalKubectlRunner, type LocalKubectlRunnerOptions, localKubectlRunner } from './local-runner.js';
export { cordon, labelNode, RUNLEVEL_TAINT, taintNode, uncordon, untaintNode } from './nodes.js';
export {
  type CoreDnsResult,
  coreDnsObjects,
  ensureCoreDns,
  grantKubeletPermissions,
  KUBELET_PERMISSIONS,
  kubeletPermissionObjects,
  revokeKubeletPermissions,
} from './rbac.js';
export type { KubeCallOptions, KubectlResult, KubectlRunner, KubectlRunOptions } from './runner.js';
