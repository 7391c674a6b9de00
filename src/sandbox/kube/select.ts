/**
 * Label and field selectors as the API server understands them: the string forms kubectl sends
 * in `labelSelector` / `fieldSelector`, and the `matchLabels`/`matchExpressions` objects of PDBs
 * and Jobs.
 */
import type { Json, KubeObject } from './resources.js';

type Requirement = (labels: Record<string, string>) => boolean;

/** Splits on commas that are not inside `in (a,b)` parentheses. */
function splitTerms(selector: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let current = '';
  for (const ch of selector) {
    if (ch === '(') depth += 1;
    if (ch === ')') depth -= 1;
    if (ch === ',' && depth === 0) {
      out.push(current);
      current = '';
    } else current += ch;
  }
  out.push(current);
  return out.map((t) => t.trim()).filter(Boolean);
}

function parseTerm(term: string): Requirement {
  const set = /^(\S+)\s+(in|notin)\s+\((.*)\)$/.exec(term);
  if (set) {
    const [, k, op, values] = set;
    const allowed = new Set(values!.split(',').map((v) => v.trim()));
    return op === 'in' ? (l) => l[k!] !== undefined && allowed.has(l[k!]!) : (l) => l[k!] === undefined || !allowed.has(l[k!]!);
  }
  const cmp = /^([^!=]+?)\s*(==|!=|=)\s*(.*)$/.exec(term);
  if (cmp) {
    const [, k, op, v] = cmp;
    return op === '!=' ? (l) => l[k!] !== v : (l) => l[k!] === v;
  }
  if (term.startsWith('!')) return (l) => l[term.slice(1)] === undefined;
  return (l) => l[term] !== undefined;
}

/** Matches labels against a selector string (`a=b,c!=d,e in (x,y),f,!g`). */
export function matchesLabelSelector(labels: Record<string, string> | undefined, selector: string | undefined | null): boolean {
  if (!selector) return true;
  const l = labels ?? {};
  return splitTerms(selector).every((term) => parseTerm(term)(l));
}

/** Matches labels against a `{matchLabels, matchExpressions}` object; an empty selector selects all. */
export function matchesSelectorObject(labels: Record<string, string> | undefined, selector: Json | undefined): boolean {
  if (!selector) return false;
  const l = labels ?? {};
  const byLabel = Object.entries((selector.matchLabels ?? {}) as Record<string, string>).every(([k, v]) => l[k] === v);
  const byExpr = ((selector.matchExpressions ?? []) as { key: string; operator: string; values?: string[] }[]).every((e) => {
    const has = l[e.key] !== undefined;
    switch (e.operator) {
      case 'In':
        return has && (e.values ?? []).includes(l[e.key]!);
      case 'NotIn':
        return !has || !(e.values ?? []).includes(l[e.key]!);
      case 'Exists':
        return has;
      case 'DoesNotExist':
        return !has;
      default:
        return false;
    }
  });
  return byLabel && byExpr;
}

function fieldValue(object: KubeObject, path: string): string {
  let value: unknown = object;
  for (const part of path.split('.')) value = value && typeof value === 'object' ? (value as Json)[part] : undefined;
  return value === undefined || value === null ? '' : String(value);
}

/** Matches an object against a field selector (`spec.nodeName=n1,status.phase!=Succeeded`). */
export function matchesFieldSelector(object: KubeObject, selector: string | undefined | null): boolean {
  if (!selector) return true;
  return splitTerms(selector).every((term) => {
    const m = /^([^!=]+?)\s*(==|!=|=)\s*(.*)$/.exec(term);
    if (!m) return true;
    const actual = fieldValue(object, m[1]!);
    return m[2] === '!=' ? actual !== m[3] : actual === m[3];
  });
}
