/** SSH settings of a cluster (from the inventory's `spec.ssh`) and of one node. */

/** A jump host that node connections go through. */
export interface BastionSettings {
  address: string;
  port?: number;
  /** Defaults to the cluster's SSH user. */
  user?: string;
  /** Defaults to the cluster's identity file. */
  identityFile?: string;
}

/** How hoist logs in to nodes. */
export interface SshSettings {
  /** Login user; anything but root runs privileged commands through `sudo -n`. Default root. */
  user?: string;
  /** Default 22. */
  port?: number;
  /** Private key file; without it ssh-agent is used, then the default ~/.ssh keys. */
  identityFile?: string;
  /** ssh-agent socket; default $SSH_AUTH_SOCK. */
  agentSocket?: string;
  /** Default ~/.ssh/known_hosts. */
  knownHostsFile?: string;
  /** Record keys of hosts not yet in known_hosts (never replaces a changed key). */
  acceptNewHostKeys?: boolean;
  /** TCP connect + handshake + authentication deadline. Default 10 000 ms. */
  connectTimeoutMs?: number;
  bastion?: BastionSettings;
}

/** A node as the transport sees it. */
export interface SshNode {
  name: string;
  address: string;
  /** Overrides SshSettings.port for this node. */
  port?: number;
  /** Overrides SshSettings.user for this node. */
  user?: string;
  /** Overrides SshSettings.identityFile for this node. */
  identityFile?: string;
  /** Overrides SshSettings.knownHostsFile for this node. */
  knownHostsFile?: string;
  /** This node's own jump host; replaces SshSettings.bastion for it. */
  bastion?: BastionSettings;
}

/** Default connect deadline: long enough for a loaded node, short enough that a dead one fails fast. */
export const DEFAULT_CONNECT_TIMEOUT_MS = 10_000;

/** `name (address)` or `name (address:port)` for messages. */
export function describeNode(node: { name: string; address: string; port?: number }): string {
  const port = node.port ?? 22;
  return `${node.name} (${node.address}${port === 22 ? '' : `:${port}`})`;
}
