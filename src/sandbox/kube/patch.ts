/**
 * PATCH bodies. JSON merge patch (RFC 7386) and a practical subset of strategic merge patch share
 * one function: `null` deletes a key, `$`-directive keys are skipped, and lists are replaced —
 * except, for strategic patches, lists of named objects (containers, volumes, env), which merge
 * by `name` as the API server does. Taints have no merge key, so a taint patch replaces the list.
 */
import type { Json } from './resources.js';

/** Which patch flavour a Content-Type names; undefined for unsupported ones (json-patch). */
export function patchKind(contentType: string | undefined): 'merge' | 'strategic' | undefined {
  const type = (contentType ?? '').split(';')[0]!.trim();
  if (type === 'application/merge-patch+json') return 'merge';
  if (type === 'application/strategic-merge-patch+json' || type === 'application/apply-patch+yaml') return 'strategic';
  return undefined;
}

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isNamedList(value: unknown): value is Json[] {
  return Array.isArray(value) && value.length > 0 && value.every((v) => isObject(v) && typeof v.name === 'string');
}

function mergeNamedLists(target: Json[], patch: Json[]): Json[] {
  const out = target.map((item) => ({ ...item }));
  for (const item of patch) {
    const index = out.findIndex((t) => t.name === item.name);
    if (item.$patch === 'delete') {
      if (index >= 0) out.splice(index, 1);
    } else if (index >= 0) out[index] = applyPatch(out[index], item, 'strategic') as Json;
    else out.push(applyPatch({}, item, 'strategic') as Json);
  }
  return out;
}

/** Returns `target` with `patch` applied; neither argument is modified. */
export function applyPatch(target: unknown, patch: unknown, kind: 'merge' | 'strategic'): unknown {
  if (!isObject(patch)) return patch;
  const out: Json = isObject(target) ? { ...target } : {};
  for (const [k, v] of Object.entries(patch)) {
    if (k.startsWith('$')) continue;
    if (v === null) delete out[k];
    else if (isObject(v)) out[k] = applyPatch(out[k], v, kind);
    else if (kind === 'strategic' && isNamedList(v) && isNamedList(out[k])) out[k] = mergeNamedLists(out[k], v);
    else out[k] = Array.isArray(v) ? v.filter((item) => !(isObject(item) && item.$patch === 'delete')) : v;
  }
  return out;
}
