/**
 * `drain_node`: cordon the node and evict its pods (DaemonSet pods stay, emptyDir data goes, pods
 * without a controller are deleted), bounded by a timeout. kubectl retries evictions that a
 * PodDisruptionBudget refuses; hoist reports each refusal with the pod and the budget, which
 * Gravity's drain never named (it just hung until its timeout).
 */

import { type BlockedEviction, type BudgetInfo, describeBlocked, parseBlockedEviction } from './drain-progress.js';
import { KubeError } from './errors.js';
import { kubectlFailure, kubectlJson, lastErrorLine } from './kubectl.js';
import { type KubeCallOptions, type KubectlRunner, lineSplitter } from './runner.js';
import { type LabelSelector, selectorMatches } from './selector.js';

/** Options of drain. */
export interface DrainOptions extends KubeCallOptions {
  /** Overall bound for kubectl drain (default 1 h, as Gravity). */
  timeoutMs?: number;
  /** Progress lines: kubectl's own (evicting …, evicted …) and one per blocked eviction naming the budget. */
  onProgress?: (line: string) => void;
}

/** Default bound of a drain (Gravity: 1 h). */
export const DRAIN_TIMEOUT_MS = 60 * 60 * 1000;

interface PdbList {
  items: {
    metadata: { name: string; namespace: string };
    spec?: { selector?: LabelSelector; minAvailable?: number | string; maxUnavailable?: number | string };
    status?: { currentHealthy?: number; disruptionsAllowed?: number };
  }[];
}

/** Finds the budget selecting the pod; undefined when none (or the lookup failed). */
export async function findBudgetForPod(
  runner: KubectlRunner,
  namespace: string,
  pod: string,
  opts: KubeCallOptions = {},
): Promise<BudgetInfo | undefined> {
  try {
    const object = await kubectlJson<{ metadata: { labels?: Record<string, string> } }>(
      runner,
      `get pod ${namespace}/${pod}`,
      ['get', 'pod', pod, '-n', namespace],
      opts,
    );
    const pdbs = await kubectlJson<PdbList>(
      runner,
      `list PodDisruptionBudgets in ${namespace}`,
      ['get', 'poddisruptionbudgets', '-n', namespace],
      opts,
    );
    const pdb = pdbs.items.find((p) => selectorMatches(p.spec?.selector, object.metadata.labels));
    if (!pdb) return undefined;
    return {
      namespace: pdb.metadata.namespace,
      name: pdb.metadata.name,
      ...(pdb.spec?.minAvailable !== undefined ? { minAvailable: pdb.spec.minAvailable } : {}),
      ...(pdb.spec?.maxUnavailable !== undefined ? { maxUnavailable: pdb.spec.maxUnavailable } : {}),
      ...(pdb.status?.currentHealthy !== undefined ? { currentHealthy: pdb.status.currentHealthy } : {}),
      ...(pdb.status?.disruptionsAllowed !== undefined ? { disruptionsAllowed: pdb.status.disruptionsAllowed } : {}),
    };
  } catch {
    // The progress line still names the pod; the budget lookup is best effort.
    return undefined;
  }
}

/** Cordons `node` and evicts its pods; resolves when the node is drained. */
export async function drain(runner: KubectlRunner, node: string, opts: DrainOptions = {}): Promise<void> {
  const timeoutMs = opts.timeoutMs ?? DRAIN_TIMEOUT_MS;
  const args = [
    'drain',
    node,
    '--ignore-daemonsets',
    '--delete-emptydir-data',
    '--force',
    `--timeout=${Math.max(1, Math.ceil(timeoutMs / 1000))}s`,
  ];
  const attempts = new Map<string, number>();
  const blockedNow = new Map<string, { blocked: BlockedEviction; budget?: BudgetInfo }>();
  const budgets = new Map<string, Promise<BudgetInfo | undefined>>();
  // Lookups run beside kubectl; this chain keeps progress lines in kubectl's order.
  let reporting: Promise<void> = Promise.resolve();

  const onLine = (line: string): void => {
    if (!line.trim()) return;
    const blocked = parseBlockedEviction(line);
    if (!blocked) {
      const evicted = /^pod\/(\S+) evicted$/.exec(line.trim());
      reporting = reporting.then(() => {
        if (evicted) for (const key of blockedNow.keys()) if (key.endsWith(`/${evicted[1]}`)) blockedNow.delete(key);
        opts.onProgress?.(line.trim());
      });
      return;
    }
    const key = `${blocked.namespace}/${blocked.pod}`;
    const attempt = (attempts.get(key) ?? 0) + 1;
    attempts.set(key, attempt);
    if (blocked.byBudget && !budgets.has(key))
      budgets.set(key, findBudgetForPod(runner, blocked.namespace, blocked.pod, { ...(opts.signal ? { signal: opts.signal } : {}) }));
    const budget = budgets.get(key) ?? Promise.resolve(undefined);
    reporting = reporting.then(async () => {
      const info = await budget;
      blockedNow.set(key, { blocked, ...(info ? { budget: info } : {}) });
      opts.onProgress?.(describeBlocked(node, blocked, info, attempt));
    });
  };
  const out = lineSplitter(onLine);
  const err = lineSplitter(onLine);
  const result = await runner.run(args, {
    ...(opts.signal ? { signal: opts.signal } : {}),
    // kubectl enforces --timeout itself; the runner's bound only catches a hung kubectl.
    timeoutMs: timeoutMs + 60_000,
    onStdout: (c) => out.push(c),
    onStderr: (c) => err.push(c),
  });
  out.flush();
  err.flush();
  await reporting;
  if (result.exitCode === 0 && !result.timedOut) return;

  const still = [...blockedNow.entries()].map(([pod, b]) =>
    b.budget ? `${pod} (PodDisruptionBudget ${b.budget.namespace}/${b.budget.name})` : pod,
  );
  if (result.timedOut || /global timeout reached|timed out waiting/.test(result.stderr)) {
    throw new KubeError(
      'ERR_KUBE_DRAIN_TIMEOUT',
      `drain of node "${node}" did not finish within ${Math.round(timeoutMs / 1000)}s${still.length ? `; still blocked: ${still.join(', ')}` : ''}`,
      {
        node,
        hint: still.length
          ? 'a PodDisruptionBudget allows no disruption: scale the workload up or relax the budget, then re-run the phase'
          : 'check which pods are left on the node (kubectl get pods -A --field-selector spec.nodeName=NODE), then re-run the phase',
      },
    );
  }
  const failure = kubectlFailure(`drain node "${node}"`, args, result);
  if (failure.code === 'ERR_KUBE_API_UNREACHABLE') throw failure;
  throw new KubeError('ERR_KUBE_DRAIN_FAILED', `drain of node "${node}" failed: ${lastErrorLine(result)}`, {
    node,
    hint: 'fix the cause kubectl reports, then re-run the phase (the node stays cordoned; rollback uncordons it)',
  });
}
