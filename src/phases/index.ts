/**
 * The executors of this build, one for every key of the plan's phase-data table: a key without
 * an executor here does not compile. Stored plans naming keys outside the table stay unavailable:
 * their phases fail their precheck with ERR_EXECUTOR_UNAVAILABLE, never faked.
 */
import { type Executor, ExecutorRegistry } from '../fsm/executor.js';
import { EXECUTOR_KEYS, type ExecutorKey } from '../plan/phase-data.js';
import { preUpdateExecutor, updateAppExecutor } from './apps.js';
import { bootAssessmentExecutor } from './boot-assessment.js';
import { bootstrapExecutor } from './bootstrap.js';
import { checksExecutor } from './checks.js';
import { configExecutor } from './config.js';
import type { PhaseDeps } from './deps.js';
import { electionExecutor } from './election.js';
import { etcdBackupExecutor, etcdRestartExecutor, etcdRestoreExecutor, etcdShutdownExecutor, etcdUpgradeExecutor } from './etcd.js';
import { gcExecutor } from './gc.js';
import { initExecutor } from './init.js';
import { kubeExecutors } from './kube-phases.js';
import { nodeActionsExecutor } from './node-actions.js';
import { osUpgradeExecutor } from './os-upgrade.js';
import { healthExecutor, systemUpgradeExecutor } from './system-upgrade.js';

/** Builds the executor of one key for a run. */
export type PhaseExecutorFactory = (deps: PhaseDeps) => Executor;

/** Executor key → factory. */
export const EXECUTORS: Record<ExecutorKey, PhaseExecutorFactory> = {
  ...kubeExecutors,
  init: initExecutor,
  checks: checksExecutor,
  'pre-update': preUpdateExecutor,
  bootstrap: bootstrapExecutor,
  stepdown: (deps) => electionExecutor(deps, 'stepdown'),
  'system-upgrade': systemUpgradeExecutor,
  elect: (deps) => electionExecutor(deps, 'elect'),
  health: healthExecutor,
  'etcd-backup': etcdBackupExecutor,
  'etcd-shutdown': etcdShutdownExecutor,
  'etcd-upgrade': etcdUpgradeExecutor,
  'etcd-restore': etcdRestoreExecutor,
  'etcd-restart': etcdRestartExecutor,
  config: configExecutor,
  'update-app': updateAppExecutor,
  gc: gcExecutor,
  'os-upgrade': osUpgradeExecutor,
  'boot-assessment': bootAssessmentExecutor,
  'pre-actions': nodeActionsExecutor,
  'post-actions': nodeActionsExecutor,
};

/** A registry of every executor that can run with `deps`. */
export function phaseRegistry(deps: PhaseDeps): ExecutorRegistry {
  const registry = new ExecutorRegistry();
  for (const key of EXECUTOR_KEYS) registry.register(key, () => EXECUTORS[key](deps));
  return registry;
}

export type { PhaseDeps } from './deps.js';
