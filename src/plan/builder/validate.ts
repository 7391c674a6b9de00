/**
 * Structural check of a built plan. A bad tree here is a bug in the builder, never the user's
 * input, so it surfaces as an internal error (exit 70) rather than a plan that deadlocks later.
 */
import { ExitCode, HoistError } from '../../errors.js';
import { isExecutorKey, parsePhaseData } from '../phase-data.js';
import { ancestorIds, isWithin, leaves, walk } from '../query.js';
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
 * leaf graph means no order can finish the plan.
 */
function checkAcyclic(phases: readonly Phase[], byId: Map<string, Phase>): void {
  const waitsFor = new Map<string, string[]>();
  for (const leaf of leaves(phases)) {
    const holders = [leaf.id, ...ancestorIds(leaf.id)];
    const deps = holders.flatMap((h) => byId.get(h)!.requires).flatMap((r) => leaves([byId.get(r)!]).map((l) => l.id));
    waitsFor.set(leaf.id, deps);
  }
  const DONE = 2;
  const ACTIVE = 1;
  const mark = new Map<string, number>();
  const visit = (id: string, trail: string[]): void => {
    if (mark.get(id) === DONE) return;
    if (mark.get(id) === ACTIVE) throw bad(`requirements form a cycle: ${[...trail.slice(trail.indexOf(id)), id].join(' → ')}`, id);
    mark.set(id, ACTIVE);
    for (const dep of waitsFor.get(id) ?? []) visit(dep, [...trail, id]);
    mark.set(id, DONE);
  };
  for (const id of waitsFor.keys()) visit(id, []);
}
