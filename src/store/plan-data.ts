/**
 * A plan's phase data against its executors' schemas (src/plan/phase-data.ts), on both sides of
 * plan.json: a plan that drifted from them is never written, and never handed to the engine.
 */
import { corruptFile } from '../durable-files.js';
import { StateError } from '../errors.js';
import { type PhaseDataProblem, phaseDataProblems } from '../plan/phase-data.js';
import { walk } from '../plan/query.js';
import type { Plan } from '../plan/types.js';

function describe(p: PhaseDataProblem): string {
  return `phase ${p.phase} has data that executor "${p.executor}" cannot read (${p.issues.join('; ')})`;
}

/** Refuses to write a plan whose data an executor cannot read: a bug in whoever built it. */
export function checkPlanDataToWrite(plan: Plan, file: string): void {
  const [first] = phaseDataProblems(plan.phases);
  if (!first) return;
  throw new StateError('ERR_STORE_INVALID_RECORD', `refusing to write ${file}: ${describe(first)}`, {
    hint: 'this is a bug in the caller: the plan does not match its executors',
    phase: first.phase,
  });
}

/** Refuses a stored plan whose data an executor cannot read: running it would hand the executor guesses. */
export function checkStoredPlanData(plan: Plan, file: string): void {
  const [first, ...more] = phaseDataProblems(plan.phases);
  if (!first) return;
  throw new StateError('ERR_STORE_PLAN_DATA', `store file ${file}: ${describe(first)}`, {
    phase: first.phase,
    details: more.map(describe),
    hint: `the plan was written by another version of hoist or edited by hand; restore ${file} from a backup, or finish the operation with the hoist that created it`,
  });
}

/**
 * Refuses a stored plan whose tree is damaged: a duplicate phase id (resolve would give both the
 * same state and the engine run one of them twice) or a requirement on a phase it lacks (the
 * requirer could never become eligible). Executor and layout rules are the builder's (validate.ts).
 */
export function checkStoredPlanTree(plan: Plan, file: string): void {
  const ids = new Set<string>();
  let problem: { phase: string; text: string } | undefined;
  walk(plan.phases, (p) => {
    if (problem) return false;
    if (ids.has(p.id)) problem = { phase: p.id, text: `phase id ${JSON.stringify(p.id)} appears twice` };
    ids.add(p.id);
  });
  if (!problem) {
    walk(plan.phases, (p) => {
      const missing = p.requires.find((r) => !ids.has(r));
      if (missing !== undefined && !problem)
        problem = { phase: p.id, text: `phase ${JSON.stringify(p.id)} requires ${JSON.stringify(missing)}, which is not in the plan` };
    });
  }
  if (!problem) return;
  const corrupt = corruptFile(file, `is not a valid plan: ${problem.text}`);
  throw new StateError(corrupt.code, corrupt.message, { hint: corrupt.hint, phase: problem.phase });
}
