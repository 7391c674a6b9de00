/** `hoist status`: the cluster record and its active or last operation, as text or JSON. */
import type { ClusterHealth, NodeStatus } from '../../cluster/node-status.js';
import type { PlanTally } from '../../operation/tally.js';
import { describeTakeover } from '../../store/lock.js';
import type { ClusterRecord, LeaseTakeover, OperationRecord } from '../../store/store.js';
import { healthLine, nodeDocument, renderNodeTable } from './node-table.js';
import { formatUpdated } from './plan-table.js';

/** What `hoist status` shows. */
export interface StatusInfo {
  cluster: ClusterRecord;
  active?: { operation: OperationRecord; progress: PlanTally };
  last?: OperationRecord;
  /** A lease takeover during the active operation. */
  takeover?: LeaseTakeover;
  /** The nodes read live (absent with --state, which contacts no node). */
  nodes?: NodeStatus[];
  health?: ClusterHealth;
  /** hoist has no operation on record for this cluster. */
  noOperation?: boolean;
}

/** `-o json`: cluster name, status, installed version, active and last operation. */
export function statusDocument(info: StatusInfo): Record<string, unknown> {
  const op = (o: OperationRecord) => ({
    id: o.id,
    type: o.type,
    state: o.state,
    from: o.from,
    to: o.to,
    mode: o.mode,
    created: o.created,
    updated: o.updated,
    ...(o.reason ? { reason: o.reason } : {}),
    ...(o.warnings ? { warnings: o.warnings } : {}),
  });
  return {
    cluster: info.cluster.name,
    status: info.cluster.status,
    image: info.cluster.image.name,
    installedVersion: info.cluster.image.version,
    activeOperation: info.active ? { ...op(info.active.operation), progress: info.active.progress } : null,
    lastOperation: info.last ? op(info.last) : null,
    ...(info.takeover ? { takeover: info.takeover } : {}),
    ...(info.noOperation ? { note: 'no operation has run on this cluster' } : {}),
    ...(info.health ? { health: info.health } : {}),
    ...(info.nodes ? { nodes: info.nodes.map(nodeDocument) } : {}),
  };
}

function ago(iso: string, now: Date): string {
  const s = Math.max(0, Math.round((now.getTime() - new Date(iso).getTime()) / 1000));
  const unit = (n: number, name: string): string => `${n} ${name}${n === 1 ? '' : 's'} ago`;
  if (s < 60) return unit(s, 'second');
  if (s < 3600) return unit(Math.round(s / 60), 'minute');
  if (s < 86400) return unit(Math.round(s / 3600), 'hour');
  return unit(Math.round(s / 86400), 'day');
}

/** Gravity-like text block. */
export function renderStatus(info: StatusInfo, now = new Date()): string {
  const c = info.cluster;
  const lines = [
    `Cluster name:           ${c.name}`,
    `Cluster status:         ${c.status}`,
    ...(info.health ? [`Cluster health:         ${healthLine(info.health)}`] : []),
    `Cluster image:          ${c.image.name}, version ${c.image.version}`,
  ];
  if (info.active) {
    const { operation: o, progress: p } = info.active;
    lines.push(
      'Active operations:',
      `    * Upgrade to version ${o.to}`,
      `      ID:         ${o.id}`,
      `      Started:    ${formatUpdated(o.created)} (${ago(o.created, now)})`,
      `      Progress:   ${p.completed} of ${p.total} phases completed${p.failed ? `, ${p.failed} failed` : ''}${p.inProgress ? `, ${p.inProgress} in progress` : ''}`,
      `      Use 'hoist plan --operation-id=${o.id}' to check operation status`,
    );
    if (info.takeover) lines.push(`      Ownership:  ${describeTakeover(info.takeover)}`);
    for (const w of o.warnings ?? []) lines.push(`      Warning:    ${w}`);
  } else if (info.last) {
    const o = info.last;
    lines.push(
      'Last completed operation:',
      `    * Upgrade to version ${o.to}`,
      `      ID:         ${o.id}`,
      `      Started:    ${formatUpdated(o.created)} (${ago(o.created, now)})`,
      `      ${`${o.state === 'completed' ? 'Completed' : 'Failed'}:`.padEnd(11)} ${formatUpdated(o.updated)} (${ago(o.updated, now)})${o.reason ? ` — ${o.reason}` : ''}`,
    );
  } else if (info.noOperation) {
    lines.push('Operations:             none (no operation has run on this cluster)');
  }
  if (info.nodes) lines.push('Nodes:', ...renderNodeTable(info.nodes));
  return `${lines.join('\n')}\n`;
}
