/**
 * PodDisruptionBudgets and evictions. A budget's status follows its pods (as the disruption
 * controller keeps it); an eviction the budget cannot afford is refused with 429, which makes
 * `kubectl drain` retry every 5 s. A budget is released by patching its spec, by a test through
 * `releaseBudget`, or — with `releaseAfterMs` — that long after it first refused an eviction.
 */
import type { Json, KubeObject } from './resources.js';
import { matchesSelectorObject } from './select.js';
import { type ObjectStore, resourceOfKind } from './store.js';

const PODS = resourceOfKind('Pod');
const PDBS = resourceOfKind('PodDisruptionBudget');

/** Result of an eviction: the pod went away, or a budget refused it. */
export type EvictionResult = { ok: true } | { ok: false; budget: KubeObject };

/** Counters a test can assert on. */
export interface EvictionStats {
  /** Evictions refused with 429, as `namespace/pod`. */
  refused: string[];
  /** Pods evicted, as `namespace/pod`. */
  evicted: string[];
}

function resolve(value: unknown, total: number, roundUp: boolean): number | undefined {
  if (typeof value === 'number') return value;
  if (typeof value === 'string' && value.endsWith('%')) {
    const share = (Number(value.slice(0, -1)) / 100) * total;
    return roundUp ? Math.ceil(share) : Math.floor(share);
  }
  if (typeof value === 'string' && /^\d+$/.test(value)) return Number(value);
  return undefined;
}

function isHealthy(pod: KubeObject): boolean {
  return (pod.status?.phase ?? 'Running') === 'Running';
}

/** Keeps budget statuses current and decides evictions. */
export class BudgetController {
  readonly stats: EvictionStats = { refused: [], evicted: [] };
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly pendingRelease = new Set<string>();
  private readonly unsubscribe: () => void;

  constructor(
    private readonly store: ObjectStore,
    private readonly releaseAfterMs?: number,
  ) {
    for (const pdb of store.list(PDBS)) this.recompute(pdb.metadata.namespace!);
    this.unsubscribe = store.subscribe((ev) => {
      if (ev.res === PODS || (ev.res === PDBS && ev.type !== 'DELETED')) this.recompute(ev.object.metadata.namespace!);
    });
  }

  /** Budgets in the pod's namespace whose selector matches it. */
  budgetsFor(pod: KubeObject): KubeObject[] {
    return this.store.list(PDBS, pod.metadata.namespace).filter((pdb) => matchesSelectorObject(pod.metadata.labels, pdb.spec?.selector));
  }

  /** Evicts (deletes) the pod unless a budget covering it allows no disruption. */
  evict(pod: KubeObject): EvictionResult {
    const id = `${pod.metadata.namespace}/${pod.metadata.name}`;
    const blocking = this.budgetsFor(pod).find((pdb) => (pdb.status?.disruptionsAllowed ?? 0) <= 0);
    if (blocking) {
      this.stats.refused.push(id);
      this.scheduleRelease(blocking);
      return { ok: false, budget: blocking };
    }
    // Deleting the pod recomputes the budgets synchronously, so the next eviction sees the new count.
    this.store.delete(PODS, pod.metadata.namespace, pod.metadata.name);
    this.stats.evicted.push(id);
    return { ok: true };
  }

  /** Lets the budget allow one disruption (its spec becomes `maxUnavailable: 1`). */
  releaseBudget(namespace: string, name: string): boolean {
    const pdb = this.store.get(PDBS, namespace, name);
    if (!pdb) return false;
    const spec: Json = { ...pdb.spec, maxUnavailable: 1 };
    delete spec.minAvailable;
    this.store.put(PDBS, { ...pdb, spec });
    return true;
  }

  /** Stops release timers and the store subscription. */
  close(): void {
    this.unsubscribe();
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
  }

  private scheduleRelease(pdb: KubeObject): void {
    const id = `${pdb.metadata.namespace}/${pdb.metadata.name}`;
    if (this.releaseAfterMs === undefined || this.pendingRelease.has(id)) return;
    this.pendingRelease.add(id);
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      this.pendingRelease.delete(id);
      this.releaseBudget(pdb.metadata.namespace!, pdb.metadata.name);
    }, this.releaseAfterMs);
    this.timers.add(timer);
  }

  private recompute(namespace: string): void {
    const pods = this.store.list(PODS, namespace).filter((p) => !p.metadata.deletionTimestamp);
    for (const pdb of this.store.list(PDBS, namespace)) {
      const covered = pods.filter((p) => matchesSelectorObject(p.metadata.labels, pdb.spec?.selector));
      const expectedPods = covered.length;
      const currentHealthy = covered.filter(isHealthy).length;
      const minAvailable = resolve(pdb.spec?.minAvailable, expectedPods, true);
      const maxUnavailable = resolve(pdb.spec?.maxUnavailable, expectedPods, true);
      const desiredHealthy = minAvailable ?? Math.max(0, expectedPods - (maxUnavailable ?? 0));
      const status = {
        ...pdb.status,
        observedGeneration: pdb.metadata.generation ?? 1,
        expectedPods,
        currentHealthy,
        desiredHealthy,
        disruptionsAllowed: Math.max(0, currentHealthy - desiredHealthy),
      };
      const before = pdb.status ?? {};
      if (['expectedPods', 'currentHealthy', 'desiredHealthy', 'disruptionsAllowed'].some((k) => before[k] !== (status as Json)[k])) {
        this.store.put(PDBS, { ...pdb, status });
      }
    }
  }
}
