/**
 * Cross-field rules, run after a document passed its schema. Each returns problems with paths
 * into the document it checks; the loader adds lines and throws once per file.
 */
import type { Problem } from './problems.js';
import type { ClusterConfig, ClusterStateDoc, ImageManifest } from './schema.js';

/** Unique node names, unique address+port pairs, at least one master. */
export function clusterRules(cluster: ClusterConfig): Problem[] {
  const problems: Problem[] = [];
  const names = new Map<string, number>();
  const endpoints = new Map<string, number>();
  cluster.spec.nodes.forEach((node, i) => {
    const sameName = names.get(node.name);
    if (sameName === undefined) names.set(node.name, i);
    else problems.push({ path: ['spec', 'nodes', i, 'name'], message: `duplicate node name "${node.name}" (also spec.nodes.${sameName})` });

    // Two nodes may share an address when their SSH ports differ (several sshd on one host).
    const port = node.ssh?.port ?? cluster.spec.ssh.port;
    const endpoint = `${node.address}:${port}`;
    const sameEndpoint = endpoints.get(endpoint);
    if (sameEndpoint === undefined) endpoints.set(endpoint, i);
    else {
      const other = cluster.spec.nodes[sameEndpoint]?.name ?? '';
      problems.push({
        path: ['spec', 'nodes', i, 'address'],
        message: `address ${node.address} port ${port} is already used by node ${other} (spec.nodes.${sameEndpoint}); expected a unique address and SSH port`,
      });
    }
  });
  if (!cluster.spec.nodes.some((n) => n.role === 'master')) {
    problems.push({ path: ['spec', 'nodes'], message: 'expected at least one node with role master' });
  }
  return problems;
}

/** Name part of a `name:version` locator (already checked by the schema). */
function locatorName(locator: string): string {
  return locator.slice(0, locator.lastIndexOf(':'));
}

/** An app may be listed once across systemApps and appDependencies. */
export function imageRules(manifest: ImageManifest): Problem[] {
  const problems: Problem[] = [];
  const seen = new Map<string, string>();
  for (const field of ['systemApps', 'appDependencies'] as const) {
    manifest.spec[field].forEach((locator, i) => {
      const name = locatorName(locator);
      const first = seen.get(name);
      if (first === undefined) seen.set(name, `spec.${field}.${i}`);
      else problems.push({ path: ['spec', field, i], message: `app ${name} is listed twice (also ${first}); expected each app once` });
    });
  }
  return problems;
}

/** The state's leader and per-node facts must name inventory nodes; the leader a master. */
export function stateRules(state: ClusterStateDoc, cluster: ClusterConfig): Problem[] {
  const problems: Problem[] = [];
  const nodes = new Map(cluster.spec.nodes.map((n) => [n.name, n]));
  const known = [...nodes.keys()].join(', ');
  if (state.leader !== undefined) {
    const leader = nodes.get(state.leader);
    if (!leader) {
      problems.push({ path: ['leader'], message: `node "${state.leader}" is not in the inventory; expected one of: ${known}` });
    } else if (leader.role !== 'master') {
      problems.push({ path: ['leader'], message: `node ${state.leader} is a ${leader.role}; expected a master` });
    }
  }
  for (const name of Object.keys(state.nodes)) {
    if (!nodes.has(name)) {
      problems.push({ path: ['nodes', name], message: `node "${name}" is not in the inventory; expected one of: ${known}` });
    }
  }
  return problems;
}
