/**
 * Discovery documents built from the resource table. Plain (legacy) JSON answers are enough:
 * kubectl asks for aggregated discovery first and falls back to one resource list per group.
 */
import { apiVersionOf, type Json, RESOURCE_VERBS, RESOURCES, SUBRESOURCES } from './resources.js';

/** Kubernetes version the emulator claims; the kubectl dispatcher picks its client by it. */
const SERVER_VERSION = {
  major: '1',
  minor: '32',
  gitVersion: 'v1.32.4',
  platform: 'linux/amd64',
  goVersion: 'go1.23.0',
  compiler: 'gc',
};

function groups(): { name: string; version: string }[] {
  const seen = new Map<string, string>();
  for (const r of RESOURCES) if (r.group && !seen.has(r.group)) seen.set(r.group, r.version);
  return [...seen].map(([name, version]) => ({ name, version }));
}

/** Answers a discovery path, or undefined when the path is not a discovery document. */
export function discovery(pathname: string, serverAddress: string): Json | undefined {
  const path = pathname.replace(/\/+$/, '') || '/';
  if (path === '/version') return SERVER_VERSION;
  if (path === '/api') {
    return { kind: 'APIVersions', versions: ['v1'], serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress }] };
  }
  if (path === '/apis') {
    return {
      kind: 'APIGroupList',
      apiVersion: 'v1',
      groups: groups().map((g) => {
        const gv = { groupVersion: `${g.name}/${g.version}`, version: g.version };
        return { name: g.name, versions: [gv], preferredVersion: gv };
      }),
    };
  }
  const group = /^\/apis\/([^/]+)$/.exec(path);
  if (group) {
    const g = groups().find((x) => x.name === group[1]);
    if (!g) return undefined;
    const gv = { groupVersion: `${g.name}/${g.version}`, version: g.version };
    return { kind: 'APIGroup', apiVersion: 'v1', name: g.name, versions: [gv], preferredVersion: gv };
  }
  const list = /^\/api\/(v1)$/.exec(path) ?? /^\/apis\/([^/]+\/[^/]+)$/.exec(path);
  if (list) return resourceList(list[1]!);
  return undefined;
}

function resourceList(groupVersion: string): Json | undefined {
  const resources = RESOURCES.filter((r) => apiVersionOf(r) === groupVersion);
  if (!resources.length) return undefined;
  const subresources = SUBRESOURCES.filter((s) => apiVersionOf(s) === groupVersion);
  return {
    kind: 'APIResourceList',
    apiVersion: 'v1',
    groupVersion,
    resources: [
      ...resources.map((r) => ({
        name: r.plural,
        singularName: r.singular,
        namespaced: r.namespaced,
        kind: r.kind,
        verbs: RESOURCE_VERBS,
        ...(r.shortNames ? { shortNames: r.shortNames } : {}),
      })),
      ...subresources.map((s) => ({
        name: s.name,
        singularName: '',
        namespaced: true,
        kind: s.kind,
        verbs: s.name.endsWith('/log') ? ['get'] : ['create'],
        ...(s.subGroup ? { group: s.subGroup, version: s.subVersion } : {}),
      })),
    ],
  };
}
