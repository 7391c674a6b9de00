/**
 * Rollback of one phase (`plan rollback --phase P`) and of a whole operation (`hoist rollback`).
 * A leaf is undone only if its execute got past preCheck; otherwise it is marked rolled back
 * without calling the executor, since nothing changed. Groups undo their started children in
 * reverse order.
 */
import { StateError } from '../errors.js';
import { dependentsOf, isWithin, leaves } from '../plan/query.js';
import type { Phase } from '../plan/types.js';
import type { Engine } from './engine.js';
import { PhaseEvents } from './phase-events.js';
import { PhaseRun } from './phase-run.js';
import { humanDuration, startTicker } from './progress.js';

/** `plan rollback --phase P [--force]`. */
export async function rollbackPhase(engine: Engine, id: string, flags: { force?: boolean } = {}): Promise<void> {
  const phase = engine.require(id);
  const state = engine.state.stateOf(id);
  if (state === 'unstarted') {
    throw new StateError('ERR_PHASE_NOT_STARTED', `phase "${id}" hasn't been executed yet`, {
      phase: id,
      hint: 'there is nothing to roll back',
    });
  }
  if (state === 'rolled_back') {
    throw new StateError('ERR_PHASE_ROLLED_BACK', `phase "${id}" has already been rolled back`, { phase: id });
  }
  const startedDeps = dependentsOf(engine.opts.plan.phases, id).filter((p) => {
    const s = engine.state.stateOf(p.id);
    return s !== 'unstarted' && s !== 'rolled_back';
  });
  // Name each applied subtree once, at its top-most phase, so the list stays readable.
  const applied = startedDeps.filter((p) => !startedDeps.some((q) => q !== p && isWithin(p.id, q.id)));
  if (applied.length > 0) {
    const list = applied.map((p) => p.id);
    if (!flags.force) {
      // The message names them once; listing them again as details only repeated it.
      throw new StateError('ERR_DEPENDENTS_APPLIED', `phase "${id}" has dependents that must be rolled back first: ${list.join(', ')}`, {
        phase: id,
        hint: `roll back ${list[list.length - 1]} first (newest first), or pass --force to ignore them`,
      });
    }
    engine.opts.logger.warn({ event: 'phase.force', phase: id, dependents: list }, 'dependents still applied, rolling back with --force');
  }
  const started = Date.now();
  await rollbackTree(engine, phase);
  engine.opts.progress.line(`Rolling back phase "${id}" finished in ${humanDuration(Date.now() - started)}`);
}

/** Rolls back a leaf, or a group's started children in reverse order. */
async function rollbackTree(engine: Engine, phase: Phase): Promise<void> {
  if (phase.phases?.length) {
    for (const child of [...phase.phases].reverse()) {
      const s = engine.state.stateOf(child.id);
      if (s === 'unstarted' || s === 'rolled_back') continue;
      await rollbackTree(engine, child);
    }
    return;
  }
  await rollbackLeaf(engine, phase);
}

async function rollbackLeaf(engine: Engine, phase: Phase): Promise<void> {
  const where = engine.placement(phase);
  engine.opts.progress.line(`Rolling back "${phase.id}" ${where}`);
  const log = engine.opts.logger.child({ phase: phase.id, node: phase.node });
  log.info({ event: 'phase.rollback' }, `Rolling back phase ${phase.id}`);
  if (!engine.state.leaf(phase.id)?.applied) {
    // Only a failed preCheck ran: nothing on the cluster changed, so there is nothing to undo.
    const events = new PhaseEvents(engine.opts.events, engine.opts.operation.id, phase, 'rollback');
    events.start();
    await engine.record(phase.id, 'rolled_back', 'rollback');
    events.completed();
    return;
  }
  const executor = engine.opts.registry.get(phase.executor ?? '');
  const previous = engine.state.leaf(phase.id)?.change;
  // Undoing work that still runs would race it: the execution is cancelled or finished first.
  if (previous?.state === 'in_progress' && previous.action !== 'rollback')
    await PhaseRun.refuseIfRunning(engine, phase, previous.owner, 'roll back');
  const interrupted = previous?.state === 'in_progress' && previous.action === 'rollback' ? previous.owner : undefined;
  const run = new PhaseRun(engine, phase, 'rollback', interrupted?.attempt ? interrupted : undefined);
  run.events.start();
  const { report, status, tick } = run.reporters();
  const stop = startTicker(engine.opts.progress, 'rolling back', phase.id, where, status, engine.opts.tickMs ?? 10_000, tick);
  try {
    await run.reattach(log, engine.signal);
    await engine.record(phase.id, 'in_progress', 'rollback', undefined, run.owner());
    await engine.step(phase, executor, 'rollback', log, report, run);
    await run.settled();
    await engine.record(phase.id, 'rolled_back', 'rollback');
    run.events.completed();
    log.info({ event: 'phase.rolled_back' }, `Phase ${phase.id} rolled back`);
  } catch (err) {
    run.events.stopped(err);
    throw err;
  } finally {
    stop();
  }
}

/** The leaves `hoist rollback` would undo, in the order it would undo them. */
export function rollbackOrder(engine: Engine): Phase[] {
  return leaves(engine.opts.plan.phases)
    .reverse()
    .filter((p) => {
      const s = engine.state.stateOf(p.id);
      return s !== 'unstarted' && s !== 'rolled_back';
    });
}

/**
 * `hoist rollback`: every started leaf in reverse plan order. Reverse order undoes dependents
 * before what they depend on, so no dependents check is needed. Stops at the first failure.
 */
export async function rollbackOperation(engine: Engine, flags: { dryRun?: boolean } = {}): Promise<Phase[]> {
  const order = rollbackOrder(engine);
  if (flags.dryRun) {
    for (const p of order) engine.opts.progress.line(`[DRY-RUN] Rolling back "${p.id}" ${engine.placement(p)}`);
    return order;
  }
  const started = Date.now();
  for (const p of order) await rollbackLeaf(engine, p);
  engine.opts.progress.line(`Rolling back operation finished in ${humanDuration(Date.now() - started)}`);
  return order;
}
