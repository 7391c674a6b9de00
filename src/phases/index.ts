/**
 * The executors of this build, by key. Keys the plan builder emits but this map lacks stay
 * unavailable: their phases fail their precheck with ERR_EXECUTOR_UNAVAILABLE, never faked.
 */
import { ExecutorRegistry } from '../fsm/executor.js';
import { preUpdateExecutor, updateAppExecutor } from './apps.js';
import { bootstrapExecutor } from './bootstrap.js';
import { checksExecutor } from './checks.js';
import { configExecutor } from './config.js';
import type { PhaseDeps } from './deps.js';
import { electionExecutor } from './election.js';
import { etcdBackupExecutor, etcdRestartExecutor, etcdRestoreExecutor, etcdShutdownExecutor, etcdUpgradeExecutor } from './etcd.js';
import { gcExecutor } from './gc.js';
import { initExecutor } from './init.js';
import { kubeExecutors } from './kube-phases.js';
import { healthExecutor, systemUpgradeExecutor } from './system-upgrade.js';

/** A registry of every executor that can run with `deps`. */
export function phaseRegistry(deps: PhaseDeps): ExecutorRegistry {
  const registry = new ExecutorRegistry()
    .register('init', () => initExecutor(deps))
    .register('checks', () => checksExecutor(deps))
    .register('bootstrap', () => bootstrapExecutor(deps))
    .register('system-upgrade', () => systemUpgradeExecutor(deps))
    .register('health', () => healthExecutor(deps))
    .register('stepdown', () => electionExecutor(deps))
    .register('elect', () => electionExecutor(deps))
    .register('config', () => configExecutor(deps))
    .register('etcd-backup', () => etcdBackupExecutor(deps))
    .register('etcd-shutdown', () => etcdShutdownExecutor(deps))
    .register('etcd-upgrade', () => etcdUpgradeExecutor(deps))
    .register('etcd-restore', () => etcdRestoreExecutor(deps))
    .register('etcd-restart', () => etcdRestartExecutor(deps))
    .register('gc', () => gcExecutor(deps))
    .register('pre-update', () => preUpdateExecutor(deps))
    .register('update-app', () => updateAppExecutor(deps));
  for (const [key, factory] of Object.entries(kubeExecutors(deps))) registry.register(key, factory);
  return registry;
}

export type { PhaseDeps } from './deps.js';
