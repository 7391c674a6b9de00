/**
 * Facts the layout is built from (spec §6.1), computed once from a gated input: who leads, in
 * which order nodes are handled, which nodes, system apps and apps change, and whether etcd moves.
 */

import { type PackageRef, parseLocator } from '../names.js';
import type { NodeFacts, UpgradeInput } from './input.js';
import { changedPackages, isNewer } from './versions.js';

/** A package the plan updates: target locator plus the installed version, when there was one. */
export type PackageUpdate = PackageRef & { from?: string };

/** Everything the phase builders read. */
export interface UpgradeFacts {
  input: UpgradeInput;
  leader: NodeFacts;
  /** All nodes, lead first, then inventory order (Gravity 7 reorders the same way). */
  nodes: NodeFacts[];
  /** Masters, lead first. */
  masters: NodeFacts[];
  workers: NodeFacts[];
  /** Masters and workers whose installed runtime is older than the target's, same order. */
  mastersToUpdate: NodeFacts[];
  workersToUpdate: NodeFacts[];
  systemApps: PackageUpdate[];
  apps: PackageUpdate[];
  etcd?: { from: string; to: string };
}

/** Installed runtime locator of a node: its own when reported, else the installed image's. */
export function nodeRuntime(input: UpgradeInput, node: NodeFacts): string {
  return node.runtime ?? input.installed.runtime;
}

/** OS release a node runs: its own when reported, else the installed image's OS package version. */
export function nodeOs(input: UpgradeInput, node: NodeFacts): string | undefined {
  return node.os ?? (input.installed.os ? parseLocator(input.installed.os.package, 'installed.os.package').version : undefined);
}

/** True when the target image carries an OS image whose release differs from the node's. */
export function osChanges(input: UpgradeInput, node: NodeFacts): boolean {
  if (!input.target.os) return false;
  return nodeOs(input, node) !== parseLocator(input.target.os.package, 'target.os.package').version;
}

/** True when the node's runtime is not the target's (or older). */
export function runtimeChanges(input: UpgradeInput, node: NodeFacts): boolean {
  const target = parseLocator(input.target.runtime, 'target.runtime');
  const installed = parseLocator(nodeRuntime(input, node), `node ${node.name} runtime`);
  return installed.name !== target.name || isNewer(target.version, installed.version);
}

/** Computes the facts; expects `checkUpgradeGates` to have passed. */
export function gatherFacts(input: UpgradeInput): UpgradeFacts {
  const firstMaster = input.nodes.find((n) => n.role === 'master')!;
  const leader = input.nodes.find((n) => n.name === input.leader) ?? firstMaster;
  const nodes = [leader, ...input.nodes.filter((n) => n !== leader)];
  const masters = nodes.filter((n) => n.role === 'master');
  const workers = nodes.filter((n) => n.role === 'worker');
  // A node already past the target (one stage of a multi-hop plan) is left alone; the gates keep
  // any node past the image's own runtime out of a plan.
  const differs = (n: NodeFacts): boolean => runtimeChanges(input, n) || osChanges(input, n);
  const facts: UpgradeFacts = {
    input,
    leader,
    nodes,
    masters,
    workers,
    mastersToUpdate: masters.filter(differs),
    workersToUpdate: workers.filter(differs),
    systemApps: rbacFirst(changedPackages(input.installed.systemApps, input.target.systemApps, 'systemApps')),
    apps: appUpdates(input),
  };
  const etcdFrom = input.etcdVersion ?? input.installed.etcdVersion;
  if (isNewer(input.target.etcdVersion, etcdFrom)) facts.etcd = { from: etcdFrom, to: input.target.etcdVersion };
  return facts;
}

/** True when the upgrade touches more than the application: the full Gravity 7 layout. */
export function needsFullPlan(facts: UpgradeFacts): boolean {
  return facts.mastersToUpdate.length > 0 || facts.workersToUpdate.length > 0 || facts.systemApps.length > 0 || facts.etcd !== undefined;
}

// rbac-app goes first: later apps' hooks run under the roles it creates.
function rbacFirst(updates: PackageUpdate[]): PackageUpdate[] {
  return [...updates.filter((u) => u.name === 'rbac-app'), ...updates.filter((u) => u.name !== 'rbac-app')];
}

// Changed app dependencies, then the app itself, which always changes (the version gate says so).
function appUpdates(input: UpgradeInput): PackageUpdate[] {
  const deps = changedPackages(input.installed.appDependencies, input.target.appDependencies, 'appDependencies');
  return [...deps, { name: input.target.name, version: input.target.version, from: input.installed.version }];
}
