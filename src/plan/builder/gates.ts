/**
 * Gates checked before a plan exists (spec §8.2): the input must describe a sane cluster, and
 * the image must be a newer build of the same application that may upgrade from what is
 * installed (directly or through the intermediate versions it embeds) without taking any node's
 * runtime backwards.
 */
import { InputError } from '../../errors.js';
import { isNodeName, parseLocator } from '../names.js';
import { checkIntermediates, upgradeHops } from './hops.js';
import type { ImageFacts, UpgradeInput } from './input.js';
import { checkMaxUnavailable, checkParallel } from './limits.js';
import { isNewer, requireVersion } from './versions.js';

/** Throws an InputError (exit 3) naming the first reason the upgrade may not be planned. */
export function checkUpgradeGates(input: UpgradeInput): void {
  checkNodes(input);
  checkParallel(input.parallel);
  checkMaxUnavailable(input.maxUnavailableWorkers);
  checkImage(input.installed, 'installed');
  checkImage(input.target, 'target');
  if (input.etcdVersion !== undefined) requireVersion(input.etcdVersion, 'etcdVersion');
  checkSameApplication(input.installed, input.target);
  checkNewer(input.installed, input.target);
  checkIntermediates(input.target, 'target');
  const hops = upgradeHops(input.installed, input.target);
  checkRuntimeNotOlder(input);
  checkEtcdNotOlder(input, hops);
}

/**
 * etcd is refused backwards like the runtime: its data is not readable by an older release, and
 * the plan's etcd phases would "upgrade" it to an older version. Every hop counts, not only the
 * target, since the plan moves etcd once per version change.
 */
function checkEtcdNotOlder(input: UpgradeInput, hops: readonly { version: string; etcdVersion: string }[]): void {
  const running = input.etcdVersion ?? input.installed.etcdVersion;
  const from = input.etcdVersion === undefined ? "the installed image's etcd" : 'the running etcd';
  for (const step of [...hops, input.target]) {
    if (!isNewer(running, step.etcdVersion)) continue;
    throw new InputError('ERR_ETCD_DOWNGRADE', `image ${step.version} has etcd ${step.etcdVersion}, older than ${from} ${running}`, {
      hint: `use an image whose etcd is at least ${running}; hoist never downgrades etcd`,
    });
  }
}

function checkNodes(input: UpgradeInput): void {
  const seen = new Set<string>();
  input.nodes.forEach((node, i) => {
    if (!isNodeName(node.name)) {
      throw new InputError('ERR_NODE_NAME_INVALID', `nodes[${i}].name: "${node.name}" is not a valid node name`, {
        hint: 'node names are DNS labels: lowercase letters, digits and "-", at most 63 characters',
      });
    }
    if (seen.has(node.name)) {
      throw new InputError('ERR_NODE_DUPLICATE', `nodes[${i}].name: node "${node.name}" is listed twice`, {
        hint: 'give every node of the inventory a unique name',
        node: node.name,
      });
    }
    seen.add(node.name);
    if (node.runtime !== undefined) parseLocator(node.runtime, `nodes[${i}].runtime`);
  });
  if (!input.nodes.some((n) => n.role === 'master')) {
    throw new InputError('ERR_NO_MASTERS', `cluster "${input.cluster}" has no master node`, {
      hint: 'mark at least one node of the inventory with role: master',
    });
  }
  if (input.leader === undefined) return;
  const leader = input.nodes.find((n) => n.name === input.leader);
  if (!leader) {
    throw new InputError('ERR_LEADER_UNKNOWN', `leader: node "${input.leader}" is not in the inventory`, {
      hint: 'name one of the inventory masters as the leader, or leave it out to use the first master',
      node: input.leader,
    });
  }
  if (leader.role !== 'master') {
    throw new InputError('ERR_LEADER_NOT_MASTER', `leader: node "${input.leader}" is a ${leader.role}, not a master`, {
      hint: 'the lead master coordinates the upgrade; name a master node as the leader',
      node: input.leader,
    });
  }
}

function checkImage(image: ImageFacts, side: 'installed' | 'target'): void {
  requireVersion(image.version, `${side}.version`);
  requireVersion(image.etcdVersion, `${side}.etcdVersion`);
  parseLocator(image.runtime, `${side}.runtime`);
  for (const [i, l] of image.systemApps.entries()) parseLocator(l, `${side}.systemApps[${i}]`);
  for (const [i, l] of image.appDependencies.entries()) parseLocator(l, `${side}.appDependencies[${i}]`);
}

function checkSameApplication(installed: ImageFacts, target: ImageFacts): void {
  if (installed.name === target.name) return;
  throw new InputError('ERR_IMAGE_NAME_MISMATCH', `image is application "${target.name}" but the cluster runs "${installed.name}"`, {
    hint: `use an image of "${installed.name}"; an upgrade cannot switch applications`,
  });
}

function checkNewer(installed: ImageFacts, target: ImageFacts): void {
  if (isNewer(target.version, installed.version)) return;
  throw new InputError(
    'ERR_VERSION_NOT_NEWER',
    `update version (${target.version}) must be greater than the currently installed version (${installed.version})`,
    { hint: `use an image of "${installed.name}" newer than ${installed.version}` },
  );
}

function checkRuntimeNotOlder(input: UpgradeInput): void {
  const to = parseLocator(input.target.runtime, 'target.runtime').version;
  const imageRuntime = parseLocator(input.installed.runtime, 'installed.runtime').version;
  if (isNewer(imageRuntime, to)) {
    throw new InputError('ERR_RUNTIME_DOWNGRADE', `image runtime ${to} is older than the installed image's runtime ${imageRuntime}`, {
      hint: 'use an image whose runtime is the same as or newer than the installed one',
    });
  }
  for (const node of input.nodes) {
    if (node.runtime === undefined) continue;
    const installed = parseLocator(node.runtime, `node ${node.name} runtime`).version;
    if (!isNewer(installed, to)) continue;
    throw new InputError('ERR_RUNTIME_DOWNGRADE', `node "${node.name}" runs runtime ${installed}, newer than the image's runtime ${to}`, {
      hint: `use an image whose runtime is at least ${installed}; hoist never downgrades a node`,
      node: node.name,
    });
  }
}
