/**
 * kubectl's view of the cluster for `hoist report`, asked of one master: `get nodes`, `get pods
 * -A` and `get events -A` (wide), and `describe` of what is failing: nodes NotReady or
 * unschedulable, pods neither Running nor Succeeded, and Jobs that failed (hook Jobs among them).
 * kubectl's describe takes no field selector, so the failing objects are picked from `get -o
 * json` and described by name. One kubectl call per file: a kind the API lacks costs only its file.
 */
import type { KubeRunResult } from './kube-run.js';

/** Runs kubectl with `args` on this node. */
export type Kubectl = (args: string[]) => Promise<KubeRunResult>;

/** One file of the view: its name under `kube/` and its text. */
export interface KubeViewFile {
  name: string;
  text: string;
}

/** Objects described per kind at most: a cluster where everything fails needs no thousand pages. */
const MAX_DESCRIBED = 20;

interface Item {
  metadata: { name: string; namespace?: string };
  spec?: { unschedulable?: boolean };
  status?: {
    phase?: string;
    conditions?: { type: string; status: string; reason?: string }[];
    failed?: number;
  };
}

/** A failing object: its namespace (none for nodes), name and why it counts as failing. */
interface Failing {
  namespace?: string;
  name: string;
  why: string;
}

const FAILING: { kind: string; resource: string; what: string; pick: (i: Item) => string | undefined }[] = [
  { kind: 'nodes', resource: 'nodes', what: 'nodes NotReady or unschedulable', pick: failingNode },
  { kind: 'pods', resource: 'pods', what: 'pods neither Running nor Succeeded', pick: failingPod },
  { kind: 'jobs', resource: 'jobs', what: 'Jobs that failed', pick: failedJob },
];

/** Every file of the view, in order. */
export async function kubeView(kubectl: Kubectl): Promise<KubeViewFile[]> {
  const files: KubeViewFile[] = [];
  for (const [name, args] of [
    ['get-nodes', ['get', 'nodes', '-o', 'wide']],
    ['get-pods', ['get', 'pods', '-A', '-o', 'wide']],
    ['get-events', ['get', 'events', '-A', '-o', 'wide']],
  ] as const) {
    files.push({ name: `${name}.txt`, text: transcript([...args], await kubectl([...args])) });
  }
  for (const f of FAILING) files.push({ name: `describe-failing-${f.kind}.txt`, text: await describeFailing(kubectl, f) });
  return files;
}

async function describeFailing(kubectl: Kubectl, f: (typeof FAILING)[number]): Promise<string> {
  const listArgs = ['get', f.resource, ...(f.resource === 'nodes' ? [] : ['-A']), '-o', 'json'];
  const list = await kubectl(listArgs);
  let items: Item[];
  try {
    if (list.exitCode !== 0) throw new Error('kubectl failed');
    items = (JSON.parse(list.stdout) as { items?: Item[] }).items ?? [];
  } catch {
    // What kubectl said is the answer: the kind may be missing from this API.
    return `# ${f.what}: the list could not be read\n${transcript(listArgs, list)}`;
  }
  const failing = items.flatMap((i): Failing[] => {
    const why = f.pick(i);
    return why ? [{ ...(i.metadata.namespace ? { namespace: i.metadata.namespace } : {}), name: i.metadata.name, why }] : [];
  });
  const header = `# ${f.what}: ${failing.length ? failing.map((x) => `${x.namespace ? `${x.namespace}/` : ''}${x.name} (${x.why})`).join(', ') : 'none'}\n`;
  const shown = failing.slice(0, MAX_DESCRIBED);
  const more = failing.length > shown.length ? `# ${failing.length - shown.length} more not described\n` : '';
  const parts: string[] = [];
  // One describe per namespace: kubectl describe takes several names of one namespace.
  for (const [ns, names] of byNamespace(shown)) {
    const args = ['describe', f.resource, ...(ns ? ['-n', ns] : []), ...names];
    parts.push(transcript(args, await kubectl(args)));
  }
  return header + more + parts.join('\n');
}

function byNamespace(items: Failing[]): Map<string, string[]> {
  const groups = new Map<string, string[]>();
  for (const i of items) groups.set(i.namespace ?? '', [...(groups.get(i.namespace ?? '') ?? []), i.name]);
  return groups;
}

function failingNode(i: Item): string | undefined {
  const ready = i.status?.conditions?.find((c) => c.type === 'Ready');
  const why = [
    ...(ready?.status === 'True' ? [] : [`NotReady${ready?.reason ? `: ${ready.reason}` : ''}`]),
    ...(i.spec?.unschedulable ? ['unschedulable'] : []),
  ];
  return why.length ? why.join(', ') : undefined;
}

function failingPod(i: Item): string | undefined {
  const phase = i.status?.phase ?? 'Unknown';
  return phase === 'Running' || phase === 'Succeeded' ? undefined : phase;
}

function failedJob(i: Item): string | undefined {
  const failed = i.status?.conditions?.find((c) => c.type === 'Failed' && c.status === 'True');
  return failed ? `Failed${failed.reason ? `: ${failed.reason}` : ''}` : undefined;
}

/** `$ kubectl ARGS`, its output and exit code, as a terminal would show them. */
function transcript(args: string[], r: KubeRunResult): string {
  return `$ kubectl ${args.join(' ')}\n${r.stdout}${r.stderr ? `\n${r.stderr}` : ''}(exit ${r.exitCode})\n`;
}
