/**
 * Layout of sandbox nodes: names, roles, loopback addresses and the directories that stand in
 * for each node's root filesystem. Pure: nothing here touches the disk.
 */
import path from 'node:path';
import { InputError } from '../errors.js';

/** One node of a sandbox as laid out on disk. */
export interface SandboxNodeLayout {
  name: string;
  role: 'master' | 'worker';
  address: string;
  port: number;
  /** `<dir>/nodes/<name>`: the node's stand-in root directory. */
  nodeDir: string;
  /** `<nodeDir>/var/lib/hoist`: what the inventory records as the node's nodeStateDir. */
  nodeStateDir: string;
  /** sshd files of the node. */
  sshd: { config: string; hostKey: string; pidFile: string; logFile: string };
}

/** What the layout is computed from. */
export interface LayoutInput {
  dir: string;
  masters: number;
  workers: number;
  firstAddress: string;
}

/** The node-relative path of the hoist state directory. */
const NODE_STATE_SUBDIR = path.join('var', 'lib', 'hoist');

/** Nodes node-1..node-M (masters) then node-(M+1).. (workers), on consecutive addresses. */
export function layoutNodes(input: LayoutInput): SandboxNodeLayout[] {
  checkCount('masters', input.masters, 1);
  checkCount('workers', input.workers, 0);
  const total = input.masters + input.workers;
  const first = parseLoopback(input.firstAddress);
  if (first[3]! + total - 1 > 254) {
    throw new InputError(
      'ERR_SANDBOX_ADDRESS',
      `${total} nodes starting at ${input.firstAddress} run past ${first.slice(0, 3).join('.')}.254`,
      {
        hint: 'choose a lower first address or fewer nodes',
      },
    );
  }
  const nodes: SandboxNodeLayout[] = [];
  for (let i = 0; i < total; i++) {
    const name = `node-${i + 1}`;
    const nodeDir = path.join(input.dir, 'nodes', name);
    nodes.push({
      name,
      role: i < input.masters ? 'master' : 'worker',
      address: [first[0], first[1], first[2], first[3]! + i].join('.'),
      port: 22,
      nodeDir,
      nodeStateDir: path.join(nodeDir, NODE_STATE_SUBDIR),
      sshd: {
        config: path.join(nodeDir, 'etc', 'ssh', 'sshd_config'),
        hostKey: path.join(nodeDir, 'etc', 'ssh', 'ssh_host_ed25519_key'),
        pidFile: path.join(nodeDir, 'run', 'sshd.pid'),
        logFile: path.join(nodeDir, 'var', 'log', 'sshd.log'),
      },
    });
  }
  return nodes;
}

function checkCount(field: string, value: number, min: number): void {
  if (!Number.isInteger(value) || value < min || value > 64) {
    throw new InputError('ERR_SANDBOX_NODE_COUNT', `${field} must be a whole number from ${min} to 64, got ${value}`, {
      hint: `pass --${field} with a value from ${min} to 64`,
    });
  }
}

/** Octets of an IPv4 address inside 127.0.0.0/8; anything else is refused. */
function parseLoopback(address: string): number[] {
  const octets = address.split('.').map((part) => (/^\d{1,3}$/.test(part) ? Number(part) : NaN));
  const valid = octets.length === 4 && octets.every((o) => o >= 0 && o <= 255);
  if (!valid || octets[0] !== 127 || octets[3] === 0) {
    throw new InputError('ERR_SANDBOX_ADDRESS', `sandbox address ${address} is not a loopback address in 127.0.0.0/8`, {
      hint: 'sandbox nodes listen on loopback only; pass an address like 127.0.0.2',
    });
  }
  return octets;
}
