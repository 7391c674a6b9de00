/**
 * The resource table of the Kubernetes API emulator: which kinds it serves, under which group,
 * and how a request path maps onto one of them. Discovery is generated from this table, so a
 * kind added here is visible to kubectl at once.
 */

/** One served resource (a plural under an API group version). */
export interface ResourceDef {
  group: string;
  version: string;
  plural: string;
  singular: string;
  kind: string;
  namespaced: boolean;
  shortNames?: string[];
}

/** Loose JSON object as kubectl sends and receives it. */
export type Json = Record<string, any>;

/** Metadata fields the emulator reads or maintains. */
export interface ObjectMeta {
  name: string;
  namespace?: string;
  uid?: string;
  resourceVersion?: string;
  generateName?: string;
  creationTimestamp?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  ownerReferences?: { apiVersion: string; kind: string; name: string; uid: string; controller?: boolean }[];
  [key: string]: unknown;
}

/** A stored object: kind, apiVersion and metadata plus whatever spec/status it carries. */
export interface KubeObject extends Json {
  apiVersion: string;
  kind: string;
  metadata: ObjectMeta;
}

const VERBS = ['create', 'delete', 'get', 'list', 'patch', 'update', 'watch'];

function def(group: string, version: string, plural: string, kind: string, namespaced: boolean, shortNames?: string[]): ResourceDef {
  return { group, version, plural, singular: kind.toLowerCase(), kind, namespaced, ...(shortNames ? { shortNames } : {}) };
}

/** Every resource the emulator serves. */
export const RESOURCES: readonly ResourceDef[] = [
  def('', 'v1', 'namespaces', 'Namespace', false, ['ns']),
  def('', 'v1', 'nodes', 'Node', false, ['no']),
  def('', 'v1', 'pods', 'Pod', true, ['po']),
  def('', 'v1', 'configmaps', 'ConfigMap', true, ['cm']),
  def('', 'v1', 'secrets', 'Secret', true),
  def('', 'v1', 'services', 'Service', true, ['svc']),
  def('', 'v1', 'endpoints', 'Endpoints', true, ['ep']),
  def('', 'v1', 'serviceaccounts', 'ServiceAccount', true, ['sa']),
  def('apps', 'v1', 'daemonsets', 'DaemonSet', true, ['ds']),
  def('apps', 'v1', 'deployments', 'Deployment', true, ['deploy']),
  def('apps', 'v1', 'replicasets', 'ReplicaSet', true, ['rs']),
  def('apps', 'v1', 'statefulsets', 'StatefulSet', true, ['sts']),
  def('batch', 'v1', 'jobs', 'Job', true),
  def('policy', 'v1', 'poddisruptionbudgets', 'PodDisruptionBudget', true, ['pdb']),
  def('rbac.authorization.k8s.io', 'v1', 'clusterroles', 'ClusterRole', false),
  def('rbac.authorization.k8s.io', 'v1', 'clusterrolebindings', 'ClusterRoleBinding', false),
  def('rbac.authorization.k8s.io', 'v1', 'roles', 'Role', true),
  def('rbac.authorization.k8s.io', 'v1', 'rolebindings', 'RoleBinding', true),
];

/** Subresources listed in discovery; drain looks up `pods/eviction` before it evicts. */
export const SUBRESOURCES: readonly {
  group: string;
  version: string;
  name: string;
  kind: string;
  subGroup?: string;
  subVersion?: string;
}[] = [
  { group: '', version: 'v1', name: 'pods/eviction', kind: 'Eviction', subGroup: 'policy', subVersion: 'v1' },
  { group: '', version: 'v1', name: 'pods/log', kind: 'Pod' },
];

/** `v1` or `group/version` for a resource. */
export function apiVersionOf(res: Pick<ResourceDef, 'group' | 'version'>): string {
  return res.group ? `${res.group}/${res.version}` : res.version;
}

/** The resource for a kind/apiVersion pair (used by the seed and owner garbage collection). */
export function resourceForKind(apiVersion: string, kind: string): ResourceDef | undefined {
  return RESOURCES.find((r) => apiVersionOf(r) === apiVersion && r.kind === kind);
}

/** A resource request once its path is understood. */
export interface ResourcePath {
  res: ResourceDef;
  namespace?: string;
  name?: string;
  subresource?: string;
}

/**
 * Parses `/api/v1/...` and `/apis/G/V/...` resource paths; undefined when the path names no
 * served resource. `/api/v1/namespaces/NS` is the Namespace object NS, not a collection.
 */
export function parseResourcePath(pathname: string): ResourcePath | undefined {
  const segs = pathname.split('/').filter(Boolean).map(decodeURIComponent);
  let group: string;
  let version: string;
  let rest: string[];
  if (segs[0] === 'api' && segs.length >= 3) [group, version, rest] = ['', segs[1]!, segs.slice(2)];
  else if (segs[0] === 'apis' && segs.length >= 4) [group, version, rest] = [segs[1]!, segs[2]!, segs.slice(3)];
  else return undefined;

  let namespace: string | undefined;
  if (rest[0] === 'namespaces' && rest.length >= 3) {
    namespace = rest[1];
    rest = rest.slice(2);
  }
  const [plural, name, subresource, ...extra] = rest;
  if (!plural || extra.length) return undefined;
  const res = RESOURCES.find((r) => r.group === group && r.version === version && r.plural === plural);
  if (!res) return undefined;
  if (namespace !== undefined && !res.namespaced) return undefined;
  return { res, ...(namespace !== undefined ? { namespace } : {}), ...(name ? { name } : {}), ...(subresource ? { subresource } : {}) };
}

/** Verbs advertised for every resource. */
export const RESOURCE_VERBS = VERBS;
