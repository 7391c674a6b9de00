/**
 * In-memory object store of the emulator. Every change bumps one global resourceVersion and is
 * appended to a bounded event log, so a watch that starts at a list's resourceVersion can be
 * replayed the events it missed. Controllers (budgets, jobs) and watches subscribe to changes.
 */
import { randomUUID } from 'node:crypto';
import { apiVersionOf, type KubeObject, RESOURCES, type ResourceDef, resourceForKind } from './resources.js';

/** One change, as a watch sends it. */
export interface StoreEvent {
  type: 'ADDED' | 'MODIFIED' | 'DELETED';
  res: ResourceDef;
  object: KubeObject;
  rv: number;
}

const EVENT_LOG_SIZE = 2000;

/** Keyed `group/plural/namespace/name`; cluster-scoped objects use an empty namespace. */
function key(res: ResourceDef, namespace: string | undefined, name: string): string {
  return `${res.group}/${res.plural}/${res.namespaced ? (namespace ?? '') : ''}/${name}`;
}

/** State of the emulated API server. */
export class ObjectStore {
  private rv = 1;
  private readonly objects = new Map<string, { res: ResourceDef; object: KubeObject }>();
  private readonly log: StoreEvent[] = [];
  private readonly listeners = new Set<(ev: StoreEvent) => void>();

  /** The current resourceVersion (what a list reports). */
  get resourceVersion(): number {
    return this.rv;
  }

  get(res: ResourceDef, namespace: string | undefined, name: string): KubeObject | undefined {
    return this.objects.get(key(res, namespace, name))?.object;
  }

  /** Objects of `res`, in one namespace or all of them, in insertion order. */
  list(res: ResourceDef, namespace?: string): KubeObject[] {
    const out: KubeObject[] = [];
    for (const entry of this.objects.values()) {
      if (entry.res !== res) continue;
      if (namespace !== undefined && res.namespaced && entry.object.metadata.namespace !== namespace) continue;
      out.push(entry.object);
    }
    return out;
  }

  /**
   * Stores `object` (added or replaced), stamping kind, apiVersion, uid, resourceVersion and
   * creationTimestamp; returns the stored copy. A replaced object keeps its uid and creation time.
   */
  put(res: ResourceDef, object: KubeObject): KubeObject {
    const k = key(res, object.metadata.namespace, object.metadata.name);
    const previous = this.objects.get(k)?.object;
    this.rv += 1;
    const stored: KubeObject = {
      ...object,
      apiVersion: apiVersionOf(res),
      kind: res.kind,
      metadata: {
        ...object.metadata,
        ...(res.namespaced ? { namespace: object.metadata.namespace ?? 'default' } : {}),
        uid: previous?.metadata.uid ?? object.metadata.uid ?? randomUUID(),
        creationTimestamp: previous?.metadata.creationTimestamp ?? object.metadata.creationTimestamp ?? new Date().toISOString(),
        resourceVersion: String(this.rv),
      },
    };
    if (!res.namespaced) delete stored.metadata.namespace;
    this.objects.set(k, { res, object: stored });
    this.emit({ type: previous ? 'MODIFIED' : 'ADDED', res, object: stored, rv: this.rv });
    return stored;
  }

  /** Removes an object and, like the garbage collector, every object it owns. */
  delete(res: ResourceDef, namespace: string | undefined, name: string): KubeObject | undefined {
    const k = key(res, namespace, name);
    const entry = this.objects.get(k);
    if (!entry) return undefined;
    this.objects.delete(k);
    this.rv += 1;
    const gone: KubeObject = { ...entry.object, metadata: { ...entry.object.metadata, resourceVersion: String(this.rv) } };
    this.emit({ type: 'DELETED', res, object: gone, rv: this.rv });
    for (const dependent of this.ownedBy(gone.metadata.uid)) {
      this.delete(dependent.res, dependent.object.metadata.namespace, dependent.object.metadata.name);
    }
    return gone;
  }

  /** Events after `rv` still held in the log (a watch's replay). */
  eventsSince(rv: number): StoreEvent[] {
    return this.log.filter((ev) => ev.rv > rv);
  }

  /** Calls `fn` after every change; returns the unsubscribe function. */
  subscribe(fn: (ev: StoreEvent) => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  /** Every object with its resource (for persisting the state). */
  snapshot(): { resourceVersion: number; objects: KubeObject[] } {
    return { resourceVersion: this.rv, objects: [...this.objects.values()].map((e) => e.object) };
  }

  /** Loads objects without emitting events (seed or a persisted state); unknown kinds are skipped. */
  load(objects: KubeObject[], resourceVersion?: number): string[] {
    const skipped: string[] = [];
    for (const object of objects) {
      const res = resourceForKind(object.apiVersion, object.kind);
      if (!res || !object.metadata?.name) {
        skipped.push(`${object.apiVersion}/${object.kind} ${object.metadata?.name ?? '?'}`);
        continue;
      }
      this.rv += 1;
      const metadata = {
        ...object.metadata,
        uid: object.metadata.uid ?? randomUUID(),
        creationTimestamp: object.metadata.creationTimestamp ?? new Date().toISOString(),
        resourceVersion: object.metadata.resourceVersion ?? String(this.rv),
      };
      if (res.namespaced) metadata.namespace = metadata.namespace ?? 'default';
      this.objects.set(key(res, metadata.namespace, metadata.name), { res, object: { ...object, metadata } });
    }
    if (resourceVersion !== undefined && resourceVersion > this.rv) this.rv = resourceVersion;
    return skipped;
  }

  private ownedBy(uid: string | undefined): { res: ResourceDef; object: KubeObject }[] {
    if (!uid) return [];
    return [...this.objects.values()].filter((e) => e.object.metadata.ownerReferences?.some((o) => o.uid === uid));
  }

  private emit(ev: StoreEvent): void {
    this.log.push(ev);
    if (this.log.length > EVENT_LOG_SIZE) this.log.splice(0, this.log.length - EVENT_LOG_SIZE);
    for (const fn of [...this.listeners]) fn(ev);
  }
}

/** Looks a resource up by kind name in the table (convenience for tests and controllers). */
export function resourceOfKind(kind: string): ResourceDef {
  const res = RESOURCES.find((r) => r.kind === kind);
  if (!res) throw new Error(`the emulator serves no kind ${kind}`);
  return res;
}
