/**
 * The closed set of actions an agent runs. Nothing outside this registry can be executed through
 * the agent: a request naming any other action is refused before an execution is created.
 */
import { checkDiskWriteAction } from './check-disk-write.js';
import { checkTimeAction } from './check-time.js';
import { checkTmpAction } from './check-tmp.js';
import { execHookAction } from './exec-hook.js';
import { installedCommitAction, installedRevertAction } from './installed.js';
import { kubeApiAction } from './kube-api.js';
import { kubeRunAction } from './kube-run.js';
import { factsAction } from './node-facts.js';
import { operationGcAction, operationInitAction, operationRemoveAction } from './operation.js';
import { packageLabelAction, packagePutAction, packageRemoveAction } from './package-store.js';
import { nodeProbeAction } from './probe.js';
import { reportCollectAction } from './report.js';
import type { Action } from './types.js';

/** Every action the agent knows, by name. */
export const ACTIONS: ReadonlyMap<string, Action> = new Map(
  [
    factsAction,
    checkTmpAction,
    checkDiskWriteAction,
    checkTimeAction,
    execHookAction,
    operationInitAction,
    operationRemoveAction,
    operationGcAction,
    packagePutAction,
    packageLabelAction,
    packageRemoveAction,
    installedCommitAction,
    installedRevertAction,
    kubeRunAction,
    kubeApiAction,
    nodeProbeAction,
    reportCollectAction,
  ].map((a) => [a.name, a as Action]),
);

/** The action registered under `name`, if any. */
export function findAction(name: string): Action | undefined {
  return ACTIONS.get(name);
}

export type { DiskWriteResult, DiskWriteSample } from './check-disk-write.js';
export type { CheckTimeResult } from './check-time.js';
export type { CheckTmpResult } from './check-tmp.js';
export type { ExecHookResult } from './exec-hook.js';
export type { KubeApiResult } from './kube-api.js';
export type { FactsResult } from './node-facts.js';
export type { OperationGcResult, OperationInitResult } from './operation.js';
export type { OsStatus } from './os-status.js';
export type { PackagePutResult } from './package-store.js';
export type { HealthProbe, ProbeResult } from './probe.js';
export type { ReportFile, ReportResult } from './report.js';
export type { Action, ActionContext } from './types.js';
