/** hoist's Kubernetes operations, run through kubectl on the lead master (or locally). */
export type { KubectlRunner, KubectlRunOptions, KubectlResult, KubeCallOptions } from './runner.js';
export { localKubectlRunner, type LocalKubectlRunner, type LocalKubectlRunnerOptions } from './local-runner.js';
export { KubeError, HookJobError, KubeManifestError } from './errors.js';
export { cordon, uncordon, taintNode, untaintNode, labelNode, RUNLEVEL_TAINT } from './nodes.js';
export { drain, findBudgetForPod, DRAIN_TIMEOUT_MS, type DrainOptions } from './drain.js';
export { parseBlockedEviction, describeBlocked, type BlockedEviction, type BudgetInfo } from './drain-progress.js';
export { waitEndpoints, defaultEndpointTargets, ENDPOINTS_TIMEOUT_MS, type EndpointsTarget, type WaitEndpointsOptions } from './endpoints.js';
export { grantKubeletPermissions, revokeKubeletPermissions, kubeletPermissionObjects, ensureCoreDns, coreDnsObjects, KUBELET_PERMISSIONS, type CoreDnsResult } from './rbac.js';
export { runHookJob, HOOK_JOB_TIMEOUT_MS, type HookJobOptions, type HookJobResult } from './hook-job.js';
export { applyResources, deleteResources, type ResourcesOptions } from './apply.js';
