/**
 * `plan cancel --phase P`: stops the node work of in-progress leaves (left running by a killed
 * orchestrator, or by one still waiting on it) and records them failed, so that a rollback or a
 * fresh execute can follow. The nodes stop each execution's whole process group and answer only
 * once it has ended.
 */
import { StateError } from '../errors.js';
import { leaves } from '../plan/query.js';
import type { Engine } from './engine.js';

/** Cancels the in-progress leaves of phase `id`; returns the cancelled execution ids by leaf. */
export async function cancelPhase(engine: Engine, id: string): Promise<Map<string, string[]>> {
  const phase = engine.require(id);
  const nodes = engine.opts.executions;
  const targets = (phase.phases?.length ? leaves([phase]) : [phase]).filter((p) => engine.state.stateOf(p.id) === 'in_progress');
  if (targets.length === 0) {
    throw new StateError('ERR_PHASE_NOT_IN_PROGRESS', `phase "${id}" has nothing in progress to cancel`, {
      phase: id,
      hint: 'see "hoist plan"',
    });
  }
  const cancelled = new Map<string, string[]>();
  for (const leaf of targets) {
    const owner = engine.state.leaf(leaf.id)?.change?.owner;
    const where = new Set([...(owner?.executions ?? []).map((e) => e.node), ...(leaf.node ? [leaf.node] : [])]);
    const ids: string[] = [];
    for (const node of where) {
      const stopped = nodes
        ? await nodes.cancel(node, { operationId: engine.opts.operation.id, phaseId: leaf.id, epoch: engine.opts.lease.epoch })
        : [];
      for (const e of stopped) engine.opts.progress.line(`Cancelled execution ${e} of "${leaf.id}" on ${node}`);
      ids.push(...stopped);
    }
    const action = engine.state.leaf(leaf.id)?.change?.action ?? 'execute';
    await engine.record(leaf.id, 'failed', action, { code: 'ERR_CANCELLED', message: 'cancelled with "hoist plan cancel"' });
    cancelled.set(leaf.id, ids);
  }
  return cancelled;
}
