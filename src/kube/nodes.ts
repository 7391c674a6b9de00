/** Node operations: cordon, uncordon, the runlevel taint, labels. */
import { kubectl, kubectlFailure } from './kubectl.js';
import type { KubeCallOptions, KubectlRunner } from './runner.js';

/** The taint that keeps application pods off a node while its system software is upgraded (Gravity's `gravitational.io/runlevel`). */
export const RUNLEVEL_TAINT = { key: 'hoist/runlevel', value: 'system', effect: 'NoExecute' } as const;

/** Marks the node unschedulable. */
export async function cordon(runner: KubectlRunner, node: string, opts: KubeCallOptions = {}): Promise<void> {
  await kubectl(runner, `cordon node "${node}"`, ['cordon', node], opts);
}

/** Marks the node schedulable again. */
export async function uncordon(runner: KubectlRunner, node: string, opts: KubeCallOptions = {}): Promise<void> {
  await kubectl(runner, `uncordon node "${node}"`, ['uncordon', node], opts);
}

/** Adds (or overwrites) the runlevel taint `hoist/runlevel=system:NoExecute`. */
export async function taintNode(runner: KubectlRunner, node: string, opts: KubeCallOptions = {}): Promise<void> {
  const t = RUNLEVEL_TAINT;
  await kubectl(runner, `taint node "${node}"`, ['taint', 'nodes', node, `${t.key}=${t.value}:${t.effect}`, '--overwrite'], opts);
}

/** Removes the runlevel taint; a node without it is left as it is. */
export async function untaintNode(runner: KubectlRunner, node: string, opts: KubeCallOptions = {}): Promise<void> {
  const t = RUNLEVEL_TAINT;
  const args = ['taint', 'nodes', node, `${t.key}:${t.effect}-`];
  const result = await runner.run(args, opts);
  if (result.exitCode === 0) return;
  // kubectl exits 1 with `taint "…" not found` when the taint is already gone: that is success here.
  if (/taint .* not found/.test(result.stderr)) return;
  throw kubectlFailure(`remove the taint from node "${node}"`, args, result);
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
  await kubectl(runner, `label node "${node}"`, ['label', 'nodes', node, ...terms, '--overwrite'], opts);
}
