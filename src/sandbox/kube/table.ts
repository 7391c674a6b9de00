/**
 * Server-side printing for `kubectl get nodes|pods` (no `-o`): kubectl asks for a meta.k8s.io
 * Table and prints its columns, so operators see STATUS and ROLES as on a real cluster. Other
 * kinds answer plainly and kubectl falls back to NAME and AGE.
 */
import type { Json, KubeObject, ResourceDef } from './resources.js';

/** True when the request asks for a Table answer. */
export function wantsTable(accept: string | undefined): boolean {
  return /as=Table/.test(accept ?? '');
}

function age(object: KubeObject): string {
  const seconds = Math.max(0, Math.floor((Date.now() - Date.parse(object.metadata.creationTimestamp ?? '')) / 1000));
  if (!Number.isFinite(seconds)) return '<unknown>';
  if (seconds < 120) return `${seconds}s`;
  if (seconds < 7200) return `${Math.floor(seconds / 60)}m`;
  if (seconds < 172800) return `${Math.floor(seconds / 3600)}h`;
  return `${Math.floor(seconds / 86400)}d`;
}

function nodeCells(node: KubeObject): unknown[] {
  const ready = ((node.status?.conditions ?? []) as Json[]).some((c) => c.type === 'Ready' && c.status === 'True');
  const status = [ready ? 'Ready' : 'NotReady', ...(node.spec?.unschedulable ? ['SchedulingDisabled'] : [])].join(',');
  const roles = Object.keys(node.metadata.labels ?? {})
    .filter((k) => k.startsWith('node-role.kubernetes.io/'))
    .map((k) => k.slice('node-role.kubernetes.io/'.length))
    .sort();
  return [node.metadata.name, status, roles.join(',') || '<none>', age(node), node.status?.nodeInfo?.kubeletVersion ?? ''];
}

function podCells(pod: KubeObject): unknown[] {
  const containers = (pod.spec?.containers ?? []) as Json[];
  const running = pod.status?.phase === 'Running';
  const reason =
    pod.status?.phase === 'Succeeded' ? 'Completed' : pod.status?.phase === 'Failed' ? 'Error' : (pod.status?.phase ?? 'Pending');
  return [
    pod.metadata.name,
    `${running ? containers.length : 0}/${containers.length}`,
    reason,
    0,
    age(pod),
    pod.spec?.nodeName ?? '<none>',
  ];
}

const COLUMNS: Record<string, { columns: string[]; cells: (o: KubeObject) => unknown[] }> = {
  nodes: { columns: ['Name', 'Status', 'Roles', 'Age', 'Version'], cells: nodeCells },
  pods: { columns: ['Name', 'Ready', 'Status', 'Restarts', 'Age', 'Node'], cells: podCells },
};

/** A Table of `objects`, or undefined when the kind has no server-side columns. */
export function toTable(res: ResourceDef, objects: KubeObject[], resourceVersion: number): Json | undefined {
  const spec = COLUMNS[res.group === '' ? res.plural : ''];
  if (!spec) return undefined;
  return {
    kind: 'Table',
    apiVersion: 'meta.k8s.io/v1',
    metadata: { resourceVersion: String(resourceVersion) },
    columnDefinitions: spec.columns.map((name, i) => ({
      name,
      type: name === 'Restarts' ? 'integer' : 'string',
      format: i === 0 ? 'name' : '',
      description: '',
      priority: name === 'Node' ? 1 : 0,
    })),
    rows: objects.map((o) => ({
      cells: spec.cells(o),
      object: { kind: 'PartialObjectMetadata', apiVersion: 'meta.k8s.io/v1', metadata: o.metadata },
    })),
  };
}
