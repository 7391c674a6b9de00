/**
 * RBAC and CoreDNS objects hoist manages itself: `kubelet_permissions` (let the upgraded kubelet
 * patch node status against the old API server; removed on rollback) and `coredns` (create the
 * ClusterRole/Binding and Corefile only when absent, so user edits are never overwritten).
 */
import YAML from 'yaml';
import { applyResources } from './apply.js';
import { kubectl, kubectlFailure } from './kubectl.js';
import type { KubeCallOptions, KubectlRunner } from './runner.js';

/** Name of the kubelet ClusterRole and ClusterRoleBinding. */
export const KUBELET_PERMISSIONS = 'kubelet-upgrade';

/** The kubelet permission objects (ClusterRole + ClusterRoleBinding for user `kubelet`). */
export function kubeletPermissionObjects(): object[] {
  const labels = { 'app.kubernetes.io/managed-by': 'hoist' };
  return [
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRole',
      metadata: { name: KUBELET_PERMISSIONS, labels },
      rules: [
        { apiGroups: [''], resources: ['nodes'], verbs: ['get', 'list', 'watch'] },
        { apiGroups: [''], resources: ['nodes/status'], verbs: ['get', 'patch', 'update'] },
      ],
    },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRoleBinding',
      metadata: { name: KUBELET_PERMISSIONS, labels },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: KUBELET_PERMISSIONS },
      subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name: 'kubelet' }],
    },
  ];
}

/** Creates or updates the kubelet permissions (idempotent). */
export async function grantKubeletPermissions(runner: KubectlRunner, opts: KubeCallOptions = {}): Promise<void> {
  await applyResources(
    runner,
    kubeletPermissionObjects()
      .map((o) => YAML.stringify(o))
      .join('---\n'),
    opts,
  );
}

/** Deletes the kubelet permissions (rollback); absent objects are fine. */
export async function revokeKubeletPermissions(runner: KubectlRunner, opts: KubeCallOptions = {}): Promise<void> {
  for (const kind of ['clusterrolebinding', 'clusterrole']) {
    await kubectl(
      runner,
      `delete ${kind} ${KUBELET_PERMISSIONS}`,
      ['delete', kind, KUBELET_PERMISSIONS, '--ignore-not-found', '--wait=false'],
      opts,
    );
  }
}

const COREFILE = `.:53 {
    errors
    health
    ready
    kubernetes cluster.local in-addr.arpa ip6.arpa {
        pods insecure
        fallthrough in-addr.arpa ip6.arpa
    }
    prometheus :9153
    forward . /etc/resolv.conf
    cache 30
    loop
    reload
    loadbalance
}
`;

/** The CoreDNS objects: ClusterRole, ClusterRoleBinding and the `kube-system/coredns` Corefile ConfigMap. */
export function coreDnsObjects(): { kind: string; name: string; object: object }[] {
  const rbac = 'rbac.authorization.k8s.io/v1';
  return [
    {
      kind: 'clusterrole',
      name: 'coredns',
      object: {
        apiVersion: rbac,
        kind: 'ClusterRole',
        metadata: { name: 'coredns' },
        rules: [
          { apiGroups: [''], resources: ['endpoints', 'services', 'pods', 'namespaces'], verbs: ['list', 'watch'] },
          { apiGroups: ['discovery.k8s.io'], resources: ['endpointslices'], verbs: ['list', 'watch'] },
        ],
      },
    },
    {
      kind: 'clusterrolebinding',
      name: 'coredns',
      object: {
        apiVersion: rbac,
        kind: 'ClusterRoleBinding',
        metadata: { name: 'coredns' },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'coredns' },
        subjects: [{ kind: 'ServiceAccount', name: 'coredns', namespace: 'kube-system' }],
      },
    },
    {
      kind: 'configmap',
      name: 'kube-system/coredns',
      object: {
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: { name: 'coredns', namespace: 'kube-system' },
        data: { Corefile: COREFILE },
      },
    },
  ];
}

/** Result of ensureCoreDns: which objects were created and which already existed. */
export interface CoreDnsResult {
  created: string[];
  existing: string[];
}

/** Creates each CoreDNS object that does not exist yet; existing ones are left untouched. */
export async function ensureCoreDns(runner: KubectlRunner, opts: KubeCallOptions = {}): Promise<CoreDnsResult> {
  const out: CoreDnsResult = { created: [], existing: [] };
  for (const { kind, name, object } of coreDnsObjects()) {
    const args = ['create', '-f', '-', '--validate=false'];
    const result = await runner.run(args, { stdin: JSON.stringify(object), ...(opts.signal ? { signal: opts.signal } : {}) });
    const id = `${kind}/${name}`;
    if (result.exitCode === 0) out.created.push(id);
    else if (/AlreadyExists|already exists/.test(result.stderr)) out.existing.push(id);
    else throw kubectlFailure(`create ${id}`, args, result);
  }
  return out;
}
