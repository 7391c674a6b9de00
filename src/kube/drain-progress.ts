/**
 * Reading kubectl drain's output. While a PodDisruptionBudget blocks an eviction, kubectl prints
 *   error when evicting pods/"guarded-1" -n "default" (will retry after 5s): Cannot evict pod as it would violate the pod's disruption budget.
 * every 5 s and nothing else; hoist turns that into a line naming the pod and the budget.
 */

/** A blocked eviction as kubectl reported it. */
export interface BlockedEviction {
  namespace: string;
  pod: string;
  /** Seconds until kubectl retries. */
  retryAfterSeconds?: number;
  /** The API server's reason, e.g. "Cannot evict pod as it would violate the pod's disruption budget." */
  reason: string;
  /** True when the reason is a disruption budget (other 429s and errors also retry). */
  byBudget: boolean;
}

const BLOCKED = /^error when evicting pods\/"([^"]+)" -n "([^"]+)"(?: \(will retry after (\d+)s\))?: (.*)$/;

/** Parses one line of drain output; undefined when it does not report a blocked eviction. */
export function parseBlockedEviction(line: string): BlockedEviction | undefined {
  const m = BLOCKED.exec(line.trim());
  if (!m) return undefined;
  const [, pod, namespace, retry, reason] = m;
  return {
    pod: pod!,
    namespace: namespace!,
    ...(retry ? { retryAfterSeconds: Number(retry) } : {}),
    reason: reason!,
    byBudget: /disruption budget/i.test(reason!),
  };
}

/** The budget that covers a blocked pod, as far as hoist could find out. */
export interface BudgetInfo {
  namespace: string;
  name: string;
  minAvailable?: number | string;
  maxUnavailable?: number | string;
  currentHealthy?: number;
  disruptionsAllowed?: number;
}

/** The progress line for a blocked eviction. */
export function describeBlocked(node: string, blocked: BlockedEviction, budget: BudgetInfo | undefined, attempt: number): string {
  const pod = `${blocked.namespace}/${blocked.pod}`;
  const retry = blocked.retryAfterSeconds !== undefined ? `; retrying in ${blocked.retryAfterSeconds}s` : '';
  if (!blocked.byBudget) return `drain of node "${node}": cannot evict pod ${pod} yet (attempt ${attempt}): ${blocked.reason}${retry}`;
  if (!budget)
    return `drain of node "${node}": pod ${pod} is protected by a PodDisruptionBudget that allows no disruption now (attempt ${attempt})${retry}`;
  const limits = [
    budget.minAvailable !== undefined ? `minAvailable ${budget.minAvailable}` : '',
    budget.maxUnavailable !== undefined ? `maxUnavailable ${budget.maxUnavailable}` : '',
    budget.currentHealthy !== undefined ? `${budget.currentHealthy} healthy` : '',
    budget.disruptionsAllowed !== undefined ? `${budget.disruptionsAllowed} disruptions allowed` : '',
  ].filter(Boolean);
  return (
    `drain of node "${node}": pod ${pod} is blocked by PodDisruptionBudget ${budget.namespace}/${budget.name}` +
    `${limits.length ? ` (${limits.join(', ')})` : ''} (attempt ${attempt})${retry}`
  );
}
