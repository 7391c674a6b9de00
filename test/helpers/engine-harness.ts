/** Builds an Engine over a store (a MemoryStore unless given) and a plan, with captured progress lines. */
import pino from 'pino';
import { Engine, type EngineOptions } from '../../src/fsm/engine.js';
import type { ExecutorRegistry } from '../../src/fsm/executor.js';
import { newOperationRecord } from '../../src/operation/records.js';
import type { Plan } from '../../src/plan/types.js';
import { MemoryStore } from './memory-store.js';
import type { TempStore } from './temp-store.js';

export async function harness<S extends MemoryStore | TempStore = MemoryStore>(
  plan: Plan,
  registry: ExecutorRegistry,
  extra: Partial<EngineOptions> = {},
  store: S = new MemoryStore() as S,
) {
  const op = newOperationRecord(plan, {
    image: 'upgrade-demo',
    mode: 'manual',
    createdBy: { host: 'h', pid: 1, user: 'root' },
    now: new Date(plan.createdAt),
  });
  const lease = await store.testLease(plan.cluster);
  if (!(await store.listOperations(plan.cluster)).some((o) => o.id === op.id)) await store.createOperation(op, plan, lease);
  const lines: string[] = [];
  const make = async (more: Partial<EngineOptions> = {}) =>
    new Engine({
      store,
      plan,
      operation: op,
      changes: await store.readChanges(plan.cluster, plan.operationId),
      registry,
      logger: pino({ level: 'silent' }),
      progress: { line: (t) => lines.push(t) },
      owner: { host: 'h', pid: process.pid },
      lease,
      ...extra,
      ...more,
    });
  /** "phase state" per appended change, in order. */
  const history = () => {
    if (!(store instanceof MemoryStore)) throw new Error('history() reads a MemoryStore; read a TempStore with readChanges');
    return (store.changes.get(plan.operationId) ?? []).map((c) => `${c.phase} ${c.state}`);
  };
  return { store, op, lines, make, history, lease };
}
