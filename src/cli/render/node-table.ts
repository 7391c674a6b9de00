/** The nodes part of `hoist status`: a table, the cluster health line and each failed probe. */
import type { ClusterHealth, NodeStatus } from '../../cluster/node-status.js';
import { printable } from '../../text.js';
import { columns } from './plan-table.js';

/** `healthy`, or `degraded (node-2: runtime-health; node-3: agent)`. */
export function healthLine(health: ClusterHealth): string {
  if (health.state === 'healthy') return 'healthy';
  const seen = new Set<string>();
  const parts = health.failures.map((f) => `${f.node}: ${f.probe}`).filter((p) => !seen.has(p) && seen.add(p));
  return `degraded (${parts.join('; ')})`;
}

function agentCell(n: NodeStatus): string {
  if (n.agent.state === 'running') return `running ${n.agent.version ?? ''}`.trim();
  return n.agent.state === 'none' ? 'not running' : 'unreachable';
}

function kubeCell(n: NodeStatus): string {
  if (!n.kube) return '-';
  return `${n.kube.ready ? 'Ready' : 'NotReady'}${n.kube.schedulable ? '' : ',SchedulingDisabled'}`;
}

/** The node table, indented under `Nodes:`, then one line per failed probe. */
export function renderNodeTable(nodes: NodeStatus[]): string[] {
  const rows = [
    ['Node', 'Address', 'Role', 'Agent', 'Runtime', 'Health', 'Kubernetes', 'Taints', 'Image'],
    ...nodes.map((n) => [
      n.name,
      n.address,
      n.role,
      agentCell(n),
      n.runtime.version ?? '-',
      n.runtime.health,
      kubeCell(n),
      n.kube?.taints.length ? n.kube.taints.join(',') : '-',
      n.image ?? '-',
    ]),
  ];
  const lines = columns(rows)
    .split('\n')
    .map((l) => `    ${l.trimEnd()}`);
  for (const n of nodes) {
    for (const f of n.failures) lines.push(`    [${n.name}] ${f.probe}: ${printable(f.message, 300)}`);
  }
  return lines;
}

/** `-o json` of one node. */
export function nodeDocument(n: NodeStatus): Record<string, unknown> {
  return {
    name: n.name,
    address: n.address,
    role: n.role,
    agent: n.agent,
    runtime: n.runtime,
    kube: n.kube,
    image: n.image,
    healthy: n.failures.length === 0,
    failures: n.failures.map((f) => ({ probe: f.probe, message: f.message })),
  };
}
