/**
 * The sandbox's jump host (`sandbox up --bastion-for NODE`): one more real sshd, on the loopback
 * address after the last node's, that the named nodes are reached through (their own
 * `ssh.bastion` in cluster.yaml). It has a host key in known_hosts like any node, and no node
 * state: it only forwards.
 */
import path from 'node:path';
import { InputError } from '../errors.js';
import type { SandboxNodeLayout } from './nodes.js';

/** Name of the bastion in sandbox.json and logs. */
export const SANDBOX_BASTION = 'bastion';

/** The bastion's layout: the address after the last node's, files under `<dir>/bastion`. */
export function layoutBastion(dir: string, nodes: SandboxNodeLayout[], behind: string[]): SandboxNodeLayout {
  const unknown = behind.filter((name) => !nodes.some((n) => n.name === name));
  if (unknown.length > 0) {
    throw new InputError('ERR_SANDBOX_NODE_UNKNOWN', `--bastion-for names ${unknown.join(', ')}, not a node of this sandbox`, {
      hint: `name one of ${nodes.map((n) => n.name).join(', ')}`,
    });
  }
  const last = nodes[nodes.length - 1]!.address.split('.').map(Number);
  if (last[3]! >= 254) {
    throw new InputError('ERR_SANDBOX_ADDRESS', `no loopback address left after ${nodes[nodes.length - 1]!.address} for the bastion`, {
      hint: 'choose a lower first address or fewer nodes',
    });
  }
  const nodeDir = path.join(dir, SANDBOX_BASTION);
  return {
    name: SANDBOX_BASTION,
    role: 'worker',
    address: [last[0], last[1], last[2], last[3]! + 1].join('.'),
    port: 22,
    nodeDir,
    nodeStateDir: path.join(nodeDir, 'var', 'lib', 'hoist'),
    sshd: {
      config: path.join(nodeDir, 'etc', 'ssh', 'sshd_config'),
      hostKey: path.join(nodeDir, 'etc', 'ssh', 'ssh_host_ed25519_key'),
      pidFile: path.join(nodeDir, 'run', 'sshd.pid'),
      logFile: path.join(nodeDir, 'var', 'log', 'sshd.log'),
    },
  };
}
