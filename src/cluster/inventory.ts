/** The inventory as the orchestrator uses it: nodes with their state dirs and SSH settings. */
import { networkInterfaces } from 'node:os';
import { allNodeSettings, type NodeSettings } from '../config/node-settings.js';
import type { ClusterConfig } from '../config/schema.js';
import type { SshNode, SshSettings } from '../ssh/settings.js';

export type { NodeSettings } from '../config/node-settings.js';

/** Cluster-wide SSH settings for the pool. */
export function sshSettingsOf(config: ClusterConfig, opts: { acceptNewHostKeys?: boolean; env?: NodeJS.ProcessEnv } = {}): SshSettings {
  const ssh = config.spec.ssh;
  return {
    user: ssh.user,
    port: ssh.port,
    ...(ssh.identityFile ? { identityFile: ssh.identityFile } : {}),
    ...(ssh.knownHostsFile ? { knownHostsFile: ssh.knownHostsFile } : {}),
    ...(ssh.bastion ? { bastion: ssh.bastion } : {}),
    ...(opts.env?.SSH_AUTH_SOCK ? { agentSocket: opts.env.SSH_AUTH_SOCK } : {}),
    acceptNewHostKeys: !!opts.acceptNewHostKeys,
  };
}

/** Nodes as the SSH pool sees them. */
export function sshNodesOf(nodes: NodeSettings[]): SshNode[] {
  return nodes.map((n) => ({
    name: n.name,
    address: n.address,
    port: n.ssh.port,
    user: n.ssh.user,
    ...(n.ssh.identityFile ? { identityFile: n.ssh.identityFile } : {}),
    ...(n.ssh.knownHostsFile ? { knownHostsFile: n.ssh.knownHostsFile } : {}),
    ...(n.ssh.bastion ? { bastion: n.ssh.bastion } : {}),
  }));
}

/** Every node's resolved settings. */
export function nodesOf(config: ClusterConfig): NodeSettings[] {
  return allNodeSettings(config);
}

/**
 * True when `address` belongs to this host on a non-loopback interface. Loopback addresses never
 * count: the sandbox's nodes live on 127.0.0.x and must behave as separate hosts.
 */
export function isLocalAddress(address: string): boolean {
  for (const list of Object.values(networkInterfaces())) {
    for (const info of list ?? []) if (!info.internal && info.address === address) return true;
  }
  return false;
}
