/**
 * Node operations: cordon, uncordon, the runlevel taint, labels. Through the runner's API path
 * where it has one (one PATCH, or a GET and a PATCH for taints), else through kubectl; either way
 * a failure is the same KubeError.
 */
import { apiJson, asKubectlResult, corePath, type KubeApi, preferApi } from './api.js';
import { kubectl, kubectlFailure } from './kubectl.js';
import type { KubeCallOptions, KubectlRunner } from './runner.js';

/** The taint that keeps application pods off a node while its system software is upgraded (Gravity's `gravitational.io/runlevel`). */
export const RUNLEVEL_TAINT = { key: 'hoist/runlevel', value: 'system', effect: 'NoExecute' } as const;

interface Taint {
  key: string;
  value?: string;
  effect: string;
}

interface NodeObject {
  metadata: { resourceVersion?: string };
  spec?: { taints?: Taint[] };
}

/** A taint patch lost a race with another writer of the node (kubelet): read again, this often. */
const CONFLICT_RETRIES = 5;

/** PATCHes node `node` with a merge patch; the error is the one `kubectl args` gives. */
async function patchNode(api: KubeApi, node: string, what: string, args: string[], body: unknown, opts: KubeCallOptions): Promise<void> {
  await apiJson(api, what, args, { method: 'PATCH', path: corePath('nodes', node), body }, opts);
}

/** Marks the node unschedulable. */
export async function cordon(runner: KubectlRunner, node: string, opts: KubeCallOptions = {}): Promise<void> {
  const what = `cordon node "${node}"`;
  const args = ['cordon', node];
  await preferApi<unknown>(
    runner,
    (api) => patchNode(api, node, what, args, { spec: { unschedulable: true } }, opts),
    () => kubectl(runner, what, args, opts),
  );
}

/** Marks the node schedulable again. */
export async function uncordon(runner: KubectlRunner, node: string, opts: KubeCallOptions = {}): Promise<void> {
  const what = `uncordon node "${node}"`;
  const args = ['uncordon', node];
  await preferApi<unknown>(
    runner,
    (api) => patchNode(api, node, what, args, { spec: { unschedulable: null } }, opts),
    () => kubectl(runner, what, args, opts),
  );
}

/**
 * Rewrites the node's taint list with `edit` (GET, then a merge patch carrying the resourceVersion
 * read, so a concurrent change is a 409 and the edit runs again); an unchanged list is not written.
 */
async function editTaints(
  api: KubeApi,
  node: string,
  what: string,
  args: string[],
  edit: (taints: Taint[]) => Taint[] | undefined,
  opts: KubeCallOptions,
): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    const current = await apiJson<NodeObject>(api, what, args, { method: 'GET', path: corePath('nodes', node) }, opts);
    const taints = edit(current.spec?.taints ?? []);
    if (!taints) return;
    const body = { metadata: { resourceVersion: current.metadata.resourceVersion }, spec: { taints } };
    const res = await api.request({ method: 'PATCH', path: corePath('nodes', node), body }, opts);
    if (res.status === 409 && attempt < CONFLICT_RETRIES) continue;
    if (res.status >= 200 && res.status < 300) return;
    throw kubectlFailure(what, args, asKubectlResult(res));
  }
}

const sameTaint = (t: Taint): boolean => t.key === RUNLEVEL_TAINT.key && t.effect === RUNLEVEL_TAINT.effect;

/** Adds (or overwrites) the runlevel taint `hoist/runlevel=system:NoExecute`. */
export async function taintNode(runner: KubectlRunner, node: string, opts: KubeCallOptions = {}): Promise<void> {
  const t = RUNLEVEL_TAINT;
  const what = `taint node "${node}"`;
  const args = ['taint', 'nodes', node, `${t.key}=${t.value}:${t.effect}`, '--overwrite'];
  await preferApi<unknown>(
    runner,
    (api) =>
      editTaints(
        api,
        node,
        what,
        args,
        (taints) =>
          taints.some((x) => sameTaint(x) && x.value === t.value) ? undefined : [...taints.filter((x) => !sameTaint(x)), { ...t }],
        opts,
      ),
    () => kubectl(runner, what, args, opts),
  );
}

/** Removes the runlevel taint; a node without it is left as it is. */
export async function untaintNode(runner: KubectlRunner, node: string, opts: KubeCallOptions = {}): Promise<void> {
  const t = RUNLEVEL_TAINT;
  const what = `remove the taint from node "${node}"`;
  const args = ['taint', 'nodes', node, `${t.key}:${t.effect}-`];
  await preferApi<unknown>(
    runner,
    (api) =>
      editTaints(api, node, what, args, (taints) => (taints.some(sameTaint) ? taints.filter((x) => !sameTaint(x)) : undefined), opts),
    async () => {
      const result = await runner.run(args, opts);
      if (result.exitCode === 0) return;
      // kubectl exits 1 with `taint "…" not found` when the taint is already gone: that is success here.
      if (/taint .* not found/.test(result.stderr)) return;
      throw kubectlFailure(what, args, result);
    },
  );
}

/** Sets labels on a node (`null` removes a label), overwriting existing values. */
export async function labelNode(
  runner: KubectlRunner,
  node: string,
  labels: Record<string, string | null>,
  opts: KubeCallOptions = {},
): Promise<void> {
  const terms = Object.entries(labels).map(([k, v]) => (v === null ? `${k}-` : `${k}=${v}`));
  if (!terms.length) return;
  const what = `label node "${node}"`;
  const args = ['label', 'nodes', node, ...terms, '--overwrite'];
  await preferApi<unknown>(
    runner,
    (api) => patchNode(api, node, what, args, { metadata: { labels } }, opts),
    () => kubectl(runner, what, args, opts),
  );
}
