/**
 * The default objects of a sandbox cluster: a Node per sandbox node, a DaemonSet with a pod on
 * every node, Deployment-like pods (one with an emptyDir, so drain needs --delete-emptydir-data),
 * one pod `guarded-1` under a PodDisruptionBudget that allows no disruption until released, and
 * kube-dns / gravity-site services with ready endpoints. The CoreDNS objects are left out on
 * purpose, so that the `/coredns` phase has something to create.
 */
import type { Json, KubeObject } from './resources.js';

/** A sandbox node as the seed needs it. */
export interface SeedNode {
  name: string;
  address: string;
  role: 'master' | 'worker';
}

/** Options of defaultSeed. */
export interface SeedOptions {
  /** Node that runs `guarded-1`; defaults to the last node. */
  guardedNode?: string;
}

/** Label carrying a node's advertise address (Gravity's `gravitational.io/advertise-ip`). */
export const ADVERTISE_IP_LABEL = 'hoist/advertise-ip';
/** Name and namespace of the budget that guards `guarded-1`. */
export const GUARDED_BUDGET = { namespace: 'default', name: 'guarded-pdb' } as const;

const SYSTEM = 'kube-system';

function obj(apiVersion: string, kind: string, metadata: Json, rest: Json = {}): KubeObject {
  return { apiVersion, kind, metadata: metadata as KubeObject['metadata'], ...rest };
}

function nodeObject(node: SeedNode): KubeObject {
  const labels: Record<string, string> = {
    'kubernetes.io/hostname': node.name,
    'kubernetes.io/os': 'linux',
    'kubernetes.io/arch': 'amd64',
    [ADVERTISE_IP_LABEL]: node.address,
    ...(node.role === 'master'
      ? { 'node-role.kubernetes.io/master': '', 'node-role.kubernetes.io/control-plane': '' }
      : { 'node-role.kubernetes.io/node': '' }),
  };
  return obj(
    'v1',
    'Node',
    { name: node.name, labels },
    {
      spec: {},
      status: {
        addresses: [
          { type: 'InternalIP', address: node.address },
          { type: 'Hostname', address: node.name },
        ],
        conditions: [{ type: 'Ready', status: 'True', reason: 'KubeletReady', message: 'kubelet is posting ready status' }],
        capacity: { cpu: '4', memory: '8Gi', pods: '110' },
        allocatable: { cpu: '4', memory: '8Gi', pods: '110' },
        nodeInfo: {
          kubeletVersion: 'v1.32.4',
          kubeProxyVersion: 'v1.32.4',
          containerRuntimeVersion: 'containerd://1.7.0',
          osImage: 'Sandbox',
          operatingSystem: 'linux',
          architecture: 'amd64',
        },
      },
    },
  );
}

function owner(kind: string, apiVersion: string, name: string): Json {
  return { apiVersion, kind, name, uid: `seed-${kind.toLowerCase()}-${name}`, controller: true, blockOwnerDeletion: true };
}

function pod(
  namespace: string,
  name: string,
  node: SeedNode,
  labels: Record<string, string>,
  ownerRef: Json,
  extra: Json = {},
): KubeObject {
  return obj(
    'v1',
    'Pod',
    { name, namespace, labels, ownerReferences: [ownerRef] },
    {
      spec: { nodeName: node.name, containers: [{ name: 'main', image: 'registry.local:5000/sandbox:1' }], ...extra },
      status: { phase: 'Running', hostIP: node.address, podIP: node.address, conditions: [{ type: 'Ready', status: 'True' }] },
    },
  );
}

function serviceWithEndpoints(
  namespace: string,
  name: string,
  labels: Record<string, string>,
  addresses: SeedNode[],
  port: number,
): KubeObject[] {
  return [
    obj('v1', 'Service', { name, namespace, labels }, { spec: { selector: labels, ports: [{ name: 'main', port, protocol: 'TCP' }] } }),
    obj(
      'v1',
      'Endpoints',
      { name, namespace, labels },
      {
        subsets: [
          { addresses: addresses.map((n) => ({ ip: n.address, nodeName: n.name })), ports: [{ name: 'main', port, protocol: 'TCP' }] },
        ],
      },
    ),
  ];
}

/** Builds the default seed for the given sandbox nodes. */
export function defaultSeed(nodes: SeedNode[], options: SeedOptions = {}): KubeObject[] {
  const masters = nodes.filter((n) => n.role === 'master');
  const workers = nodes.filter((n) => n.role === 'worker');
  const guardedOn = nodes.find((n) => n.name === options.guardedNode) ?? nodes[nodes.length - 1];
  const out: KubeObject[] = ['default', SYSTEM, 'kube-public'].map((name) =>
    obj('v1', 'Namespace', { name }, { status: { phase: 'Active' } }),
  );
  out.push(...nodes.map(nodeObject));

  const dsLabels = { app: 'log-forwarder' };
  out.push(
    obj(
      'apps/v1',
      'DaemonSet',
      { name: 'log-forwarder', namespace: SYSTEM, labels: dsLabels, uid: 'seed-daemonset-log-forwarder' },
      {
        spec: {
          selector: { matchLabels: dsLabels },
          template: { metadata: { labels: dsLabels }, spec: { containers: [{ name: 'main', image: 'log-forwarder:1' }] } },
        },
        status: { desiredNumberScheduled: nodes.length, currentNumberScheduled: nodes.length, numberReady: nodes.length },
      },
    ),
  );
  nodes.forEach((node, i) => {
    out.push(pod(SYSTEM, `log-forwarder-${node.name}`, node, dsLabels, owner('DaemonSet', 'apps/v1', 'log-forwarder')));
    out.push(pod('default', `web-7d4b9c6f5-n${i + 1}`, node, { app: 'web' }, owner('ReplicaSet', 'apps/v1', 'web-7d4b9c6f5')));
    out.push(
      pod('default', `cache-5f6d8b7c9-n${i + 1}`, node, { app: 'cache' }, owner('ReplicaSet', 'apps/v1', 'cache-5f6d8b7c9'), {
        volumes: [{ name: 'scratch', emptyDir: {} }],
      }),
    );
  });

  if (guardedOn) {
    out.push(pod('default', 'guarded-1', guardedOn, { app: 'guarded' }, owner('ReplicaSet', 'apps/v1', 'guarded-6c8f9d7b4')));
    out.push(
      obj(
        'policy/v1',
        'PodDisruptionBudget',
        { ...GUARDED_BUDGET },
        { spec: { minAvailable: 1, selector: { matchLabels: { app: 'guarded' } } } },
      ),
    );
  }

  out.push(...serviceWithEndpoints('default', 'kubernetes', { component: 'apiserver', provider: 'kubernetes' }, masters, 443));
  out.push(...serviceWithEndpoints(SYSTEM, 'kube-dns', { 'k8s-app': 'kube-dns' }, masters, 53));
  out.push(...serviceWithEndpoints(SYSTEM, 'gravity-site', { app: 'gravity-site' }, masters, 3009));
  if (workers.length) out.push(...serviceWithEndpoints(SYSTEM, 'kube-dns-worker', { 'k8s-app': 'kube-dns-worker' }, workers, 53));
  return out;
}
