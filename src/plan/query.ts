/** Pure queries over plans and plan views: find, walk, leaves, ancestry, dependents. */
import type { Phase, PhaseView } from './types.js';

type Node = Phase | PhaseView;

/** Depth-first, in plan order; `visit` returning false stops descending into that node. */
export function walk<T extends Node>(phases: readonly T[], visit: (p: T, parent?: T) => boolean | void, parent?: T): void {
  for (const p of phases) {
    if (visit(p, parent) === false) continue;
    if (p.phases) walk(p.phases as T[], visit, p);
  }
}

/** Finds a phase by absolute id; `/` is not a phase. */
export function findPhase<T extends Node>(phases: readonly T[], id: string): T | undefined {
  let found: T | undefined;
  walk(phases, (p) => {
    if (found) return false;
    if (p.id === id) {
      found = p;
      return false;
    }
    return id.startsWith(`${p.id}/`);
  });
  return found;
}

/** Leaves under the given phases, in plan order. */
export function leaves<T extends Node>(phases: readonly T[]): T[] {
  const out: T[] = [];
  walk(phases, (p) => {
    if (!p.phases || p.phases.length === 0) out.push(p);
  });
  return out;
}

/** True when `id` is `ancestor` or lies below it. */
export function isWithin(id: string, ancestor: string): boolean {
  return id === ancestor || id.startsWith(`${ancestor}/`);
}

/** Ids of a phase's ancestors, nearest first (`/a/b/c` → `/a/b`, `/a`). */
export function ancestorIds(id: string): string[] {
  const out: string[] = [];
  let cur = id;
  for (;;) {
    const cut = cur.lastIndexOf('/');
    if (cut <= 0) break;
    cur = cur.slice(0, cut);
    out.push(cur);
  }
  return out;
}

/** Index of every phase by id. */
export function indexPhases<T extends Node>(phases: readonly T[]): Map<string, T> {
  const map = new Map<string, T>();
  walk(phases, (p) => {
    map.set(p.id, p);
  });
  return map;
}

/**
 * Phases that depend on `id`, on one of its ancestors or on something inside it, transitively,
 * excluding phases inside `id` itself (those are rolled back together with it). Plan order.
 */
export function dependentsOf<T extends Node>(phases: readonly T[], id: string): T[] {
  const ancestors = new Set(ancestorIds(id));
  const within = new Set<string>([id]);
  const hits = (r: string): boolean => ancestors.has(r) || within.has(r) || ancestorIds(r).some((a) => within.has(a));
  const all: T[] = [];
  walk(phases, (p) => {
    all.push(p);
  });
  const result = new Set<T>();
  let grew = true;
  while (grew) {
    grew = false;
    for (const p of all) {
      if (result.has(p) || isWithin(p.id, id)) continue;
      if (p.requires.some(hits)) {
        result.add(p);
        within.add(p.id);
        grew = true;
      }
    }
  }
  return all.filter((p) => result.has(p));
}
