/** Effective per-node settings: a node's overrides laid over the cluster-wide ones. */
import type { BastionSettings, ClusterConfig, ClusterNode } from './schema.js';

/** How to reach one node over SSH, every field resolved. */
export interface NodeSsh {
  user: string;
  port: number;
  identityFile?: string;
  knownHostsFile?: string;
  bastion?: BastionSettings;
}

/** A node with its SSH settings and state directory resolved. */
export interface NodeSettings {
  name: string;
  address: string;
  role: 'master' | 'worker';
  nodeStateDir: string;
  ssh: NodeSsh;
}

/** Resolves one node's settings; a node's bastion replaces the cluster's as a whole. */
export function nodeSettings(cluster: ClusterConfig, node: ClusterNode): NodeSettings {
  const base = cluster.spec.ssh;
  const own = node.ssh ?? {};
  const pick = <K extends 'identityFile' | 'knownHostsFile'>(key: K): { [P in K]?: string } => {
    const value = own[key] ?? base[key];
    return value === undefined ? {} : ({ [key]: value } as { [P in K]?: string });
  };
  const bastion = own.bastion ?? base.bastion;
  return {
    name: node.name,
    address: node.address,
    role: node.role,
    nodeStateDir: node.nodeStateDir ?? cluster.spec.nodeStateDir,
    ssh: {
      user: own.user ?? base.user,
      port: own.port ?? base.port,
      ...pick('identityFile'),
      ...pick('knownHostsFile'),
      ...(bastion === undefined ? {} : { bastion }),
    },
  };
}

/** Settings of every node, in inventory order. */
export function allNodeSettings(cluster: ClusterConfig): NodeSettings[] {
  return cluster.spec.nodes.map((node) => nodeSettings(cluster, node));
}
