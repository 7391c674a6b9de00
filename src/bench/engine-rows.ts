/**
 * The engine alone at scale: an upgrade plan of 250, 500 and 1,000 nodes whose executors are
 * no-ops (a registry of its own), run whole with a window of 50 workers on the JSON store (every
 * change fsynced, as in a real run). What a leaf costs beyond its executor is the engine's
 * overhead: scheduling, eligibility, two fenced appends, logging, timers. Side by side, the rows
 * show whether it grows with the plan's size.
 */
import { hostname } from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { Engine } from '../fsm/engine.js';
import { ExecutorRegistry } from '../fsm/executor.js';
import { silentProgress } from '../fsm/progress.js';
import { newOperationRecord } from '../operation/records.js';
import { leaves } from '../plan/query.js';
import type { Plan } from '../plan/types.js';
import { JsonStore } from '../store/json-store.js';
import { type Row, timed } from './measure.js';

const WINDOW = 50;
const SIZES = (process.env.HOIST_BENCH_ENGINE_SIZES ?? '250,500,1000').split(',').map(Number);

type PlanOf = (count: number, cluster: string, window: number) => Plan;

/** Every executor key of `plan`, registered as a no-op. */
function noopRegistry(plan: Plan): ExecutorRegistry {
  const registry = new ExecutorRegistry();
  const noop = { execute: async () => undefined, rollback: async () => undefined };
  for (const leaf of leaves(plan.phases)) registry.register(leaf.executor ?? '', () => noop);
  return registry;
}

/** One whole run of a fresh operation: wall and CPU time per leaf, ms. */
async function runOnce(dir: string, planOf: PlanOf, count: number): Promise<{ leaves: number; wall: number; cpu: number }> {
  const store = new JsonStore(path.join(dir, `engine-${count}`));
  const plan = planOf(count, `engine-${count}`, WINDOW);
  const operation = newOperationRecord(plan, {
    image: 'bench',
    mode: 'automatic',
    createdBy: { host: 'bench', pid: process.pid, user: 'bench' },
  });
  const lease = await store.lock(plan.cluster, { host: hostname(), pid: process.pid, command: 'bench' });
  try {
    await store.createOperation(operation, plan, lease);
    const engine = new Engine({
      store,
      plan,
      operation,
      changes: [],
      registry: noopRegistry(plan),
      logger: pino({ level: 'silent' }),
      progress: silentProgress,
      owner: { host: hostname(), pid: process.pid },
      lease,
    });
    const cpu0 = process.cpuUsage();
    const [, ms] = await timed(() => engine.resume());
    const cpu = process.cpuUsage(cpu0);
    const n = leaves(plan.phases).length;
    return { leaves: n, wall: ms / n, cpu: (cpu.user + cpu.system) / 1000 / n };
  } finally {
    await lease.release();
    await store.close();
  }
}

/**
 * Engine overhead per leaf at each size: wall time (mostly the two fsynced appends, so it follows
 * the disk) and CPU time (the engine's own work), each the mean over the thousands of leaves of one run.
 */
export async function engineRows(dir: string, planOf: PlanOf): Promise<Row[]> {
  const rows: Row[] = [];
  for (const count of SIZES) {
    const r = await runOnce(dir, planOf, count);
    const what = `${count.toLocaleString('en')} nodes (${r.leaves.toLocaleString('en')} no-op leaves, window ${WINDOW})`;
    rows.push(
      { what: `engine wall time per leaf, ${what}`, measured: r.wall, unit: 'ms' },
      { what: `engine CPU time per leaf, ${what}`, measured: r.cpu, unit: 'ms' },
    );
  }
  return rows;
}
