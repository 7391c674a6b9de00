/** Conversions from loaded inputs to the plan builder's pure input (`UpgradeInput`). */
import type { ImageFacts, NodeFacts, UpgradeInput } from '../plan/builder/input.js';
import type { LoadedClusterState } from './load.js';
import type { ClusterConfig, ImageManifest } from './schema.js';

/** The parts of a manifest that shape a plan. */
export function toImageFacts(manifest: ImageManifest): ImageFacts {
  const { metadata, spec } = manifest;
  return {
    name: metadata.name,
    version: metadata.version,
    ...(spec.upgradeFrom === undefined ? {} : { upgradeFrom: spec.upgradeFrom }),
    runtime: spec.runtime.package,
    etcdVersion: spec.runtime.etcdVersion,
    ...(spec.os === undefined ? {} : { os: structuredClone(spec.os) }),
    systemApps: [...spec.systemApps],
    appDependencies: [...spec.appDependencies],
    ...(spec.upgradeVia.length > 0
      ? {
          upgradeVia: spec.upgradeVia.map((h) => ({
            version: h.version,
            ...(h.upgradeFrom === undefined ? {} : { upgradeFrom: h.upgradeFrom }),
            runtime: h.runtime.package,
            etcdVersion: h.runtime.etcdVersion,
          })),
        }
      : {}),
    ...(spec.nodeActions.preUpgrade.length + spec.nodeActions.postUpgrade.length > 0
      ? { nodeActions: structuredClone(spec.nodeActions) }
      : {}),
    ...(Object.keys(spec.requirements).length > 0 ? { requirements: { ...spec.requirements } } : {}),
  };
}

/** Caller-chosen operation identity and limits (kept out so conversions stay deterministic). */
export interface InputOptions {
  operationId: string;
  createdAt: string;
  parallel?: number;
  maxUnavailableWorkers?: number | string;
}

/** What is known about a cluster, however it was gathered (state file or live agents). */
export interface ClusterFacts {
  inventory: ClusterConfig;
  installed: ImageManifest;
  leader?: string;
  etcdVersion?: string;
  /** Installed runtime per node name, where known. */
  nodeRuntimes?: Record<string, string | undefined>;
  /** OS release each node booted, where known. */
  nodeOs?: Record<string, string | undefined>;
}

/** Builds an UpgradeInput; a node's runtime is kept only where it differs from the installed image's. */
export function toUpgradeInput(facts: ClusterFacts, target: ImageManifest, options: InputOptions): UpgradeInput {
  const installed = toImageFacts(facts.installed);
  const nodes: NodeFacts[] = facts.inventory.spec.nodes.map((node) => {
    const runtime = facts.nodeRuntimes?.[node.name];
    const os = facts.nodeOs?.[node.name];
    return {
      name: node.name,
      address: node.address,
      role: node.role,
      ...(runtime === undefined || runtime === installed.runtime ? {} : { runtime }),
      ...(os === undefined ? {} : { os }),
    };
  });
  const leader = facts.leader ?? nodes.find((n) => n.role === 'master')?.name;
  return {
    operationId: options.operationId,
    createdAt: options.createdAt,
    cluster: facts.inventory.metadata.name,
    nodes,
    ...(leader === undefined ? {} : { leader }),
    installed,
    target: toImageFacts(target),
    etcdVersion: facts.etcdVersion ?? installed.etcdVersion,
    ...(options.parallel === undefined ? {} : { parallel: options.parallel }),
    ...(options.maxUnavailableWorkers === undefined ? {} : { maxUnavailableWorkers: options.maxUnavailableWorkers }),
  };
}

/** Builds the plan builder's input from an offline cluster state and a target manifest. */
export function clusterStateToInput(state: LoadedClusterState, target: ImageManifest, options: InputOptions): UpgradeInput {
  const nodeRuntimes = Object.fromEntries(Object.entries(state.nodes).map(([name, facts]) => [name, facts.runtime]));
  const nodeOs = Object.fromEntries(Object.entries(state.nodes).map(([name, facts]) => [name, facts.os]));
  return toUpgradeInput(
    {
      inventory: state.inventory.config,
      installed: state.installed.manifest,
      leader: state.leader,
      ...(state.etcdVersion === undefined ? {} : { etcdVersion: state.etcdVersion }),
      nodeRuntimes,
      nodeOs,
    },
    target,
    options,
  );
}
