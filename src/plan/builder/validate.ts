/**
 * Structural check of a built plan. A bad tree here is a bug in the builder, never the user's
 * input, so it surfaces as an internal error (exit 70) rather than a plan that deadlocks later.
 */
import { ExitCode, HoistError } from '../../errors.js';
import { isExecutorKey, parsePhaseData } from '../phase-data.js';
import { isWithin, walk } from '../query.js';
import type { Phase } from '../types.js';

function bad(message: string, phase?: string): HoistError {
  return new HoistError('ERR_PLAN_INVALID', message, ExitCode.internal, {
    hint: 'this is a bug in the plan builder; report it with the input that produced it',
    ...(phase ? { phase } : {}),
  });
}

/**
 * Throws unless ids are unique absolute paths under their parent, every `requires` names an
 * existing phase outside the requirer's own line (not itself, an ancestor or a descendant),
 * leaves have a known executor and data its schema accepts, groups a positive `parallel`, and
 * the requirements have no cycle.
 */
export function validatePlan(phases: readonly Phase[]): void {
  const byId = new Map<string, Phase>();
  walk(phases, (p, parent) => {
    const prefix = parent ? parent.id : '';
    const key = p.id.slice(prefix.length + 1);
    if (!p.id.startsWith(`${prefix}/`) || key === '' || key.includes('/'))
      throw bad(`phase id "${p.id}" is not a child path of "${prefix || '/'}"`, p.id);
    if (byId.has(p.id)) throw bad(`phase id "${p.id}" appears twice`, p.id);
    byId.set(p.id, p);
    const isGroup = (p.phases?.length ?? 0) > 0;
    if (!isGroup && !p.executor) throw bad(`leaf phase "${p.id}" has no executor`, p.id);
    if (p.executor !== undefined) checkData(p, p.executor);
    if (isGroup && !(Number.isInteger(p.parallel) && p.parallel! >= 1)) throw bad(`group "${p.id}" has no positive parallel limit`, p.id);
  });
  for (const p of byId.values()) {
    for (const r of p.requires) {
      if (!byId.has(r)) throw bad(`phase "${p.id}" requires "${r}", which is not in the plan`, p.id);
      if (isWithin(r, p.id) || isWithin(p.id, r)) throw bad(`phase "${p.id}" requires "${r}", which is in its own line`, p.id);
    }
  }
  checkAcyclic(phases, byId);
}

function checkData(p: Phase, key: string): void {
  if (!isExecutorKey(key)) throw bad(`phase "${p.id}" names executor "${key}", which does not exist`, p.id);
  const res = parsePhaseData(key, p);
  if (!res.ok) throw bad(`phase "${p.id}" has data that executor "${key}" cannot read: ${res.problem.issues.join('; ')}`, p.id);
}

/**
 * A leaf waits for every leaf under every phase that it or an ancestor requires; a cycle in that
 * leaf graph means no order can finish the plan. Checked on an equivalent graph of two nodes per
 * phase, linear in the plan: a phase starts once its parent has started and what it requires has
 * finished; a leaf finishes after it starts, a group once its children have finished. (Expanding
 * every requirement to its leaves made 1,000 nodes cost millions of edges.)
 */
function checkAcyclic(phases: readonly Phase[], byId: Map<string, Phase>): void {
  const parentOf = new Map<string, string>();
  walk(phases, (p, parent) => {
    if (parent) parentOf.set(p.id, parent.id);
  });
  // Node keys: 's' + id (started), 'f' + id (finished).
  const edges = (node: string): string[] => {
    const id = node.slice(1);
    const p = byId.get(id)!;
    if (node[0] === 's') {
      const parent = parentOf.get(id);
      return [...p.requires.map((r) => `f${r}`), ...(parent ? [`s${parent}`] : [])];
    }
    return p.phases?.length ? p.phases.map((c) => `f${c.id}`) : [`s${id}`];
  };
  const DONE = 2;
  const ACTIVE = 1;
  const mark = new Map<string, number>();
  const trail: string[] = [];
  const visit = (node: string): void => {
    if (mark.get(node) === DONE) return;
    if (mark.get(node) === ACTIVE) {
      const ids = [...trail.slice(trail.indexOf(node)), node].map((n) => n.slice(1)).filter((id, i, all) => id !== all[i - 1]);
      throw bad(`requirements form a cycle: ${ids.join(' → ')}`, node.slice(1));
    }
    mark.set(node, ACTIVE);
    trail.push(node);
    for (const next of edges(node)) visit(next);
    trail.pop();
    mark.set(node, DONE);
  };
  for (const id of byId.keys()) visit(`f${id}`);
}
