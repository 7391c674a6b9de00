/** `hoist operation list` and `hoist operation show ID`: the cluster's operations and their timings. */
import type { Command } from 'commander';
import { resolveOperationId } from '../../operation/find.js';
import type { Phase, PlanChange } from '../../plan/types.js';
import { cmp } from '../../store/record-checks.js';
import type { OperationRecord, Store } from '../../store/store.js';
import type { Context } from '../context.js';
import { columns, formatUpdated } from '../render/plan-table.js';
import type { Action } from './shared.js';

/** Registers `operation`. */
export function registerOperation(program: Command, run: Action): void {
  const op = program.command('operation').description("list the cluster's operations, or show one");
  op.command('list')
    .description('every operation of the cluster, newest first')
    .option('--all-clusters', "every cluster's operations in the store (with etcd: the team's view)")
    .action((o: { allClusters?: boolean }, cmd: Command) => run(cmd, (ctx) => list(ctx, o.allClusters === true)));
  op.command('show')
    .description('one operation (an unambiguous id prefix will do) with the time each top-level phase took')
    .argument('<id>', 'operation id or a unique prefix of it')
    .action((id: string, _o: unknown, cmd: Command) => run(cmd, (ctx) => show(ctx, id)));
}

function finished(o: OperationRecord): string | undefined {
  return o.state === 'in_progress' ? undefined : o.updated;
}

async function list(ctx: Context, allClusters: boolean): Promise<void> {
  const store = ctx.store();
  const ops = allClusters ? await everyOperation(store) : await store.listOperations(await ctx.clusterName());
  if (ctx.json) return ctx.outJson({ operations: ops });
  if (ops.length === 0) return ctx.out(`No operations recorded for ${allClusters ? 'any cluster in this store' : 'this cluster'}.\n`);
  const rows = [
    ['ID', ...(allClusters ? ['Cluster'] : []), 'Type', 'Versions', 'State', 'Created', 'Completed', 'Owner'],
    ...ops.map((o) => [
      o.id,
      ...(allClusters ? [o.cluster] : []),
      o.type,
      `${o.from} → ${o.to}`,
      o.state,
      formatUpdated(o.created),
      formatUpdated(finished(o)),
      `${o.createdBy.user}@${o.createdBy.host}`,
    ]),
  ];
  ctx.out(`${columns(rows)}\n`);
}

/** The operations of every cluster in the store, newest first. */
async function everyOperation(store: Store): Promise<OperationRecord[]> {
  const ops: OperationRecord[] = [];
  for (const cluster of await store.listClusters()) ops.push(...(await store.listOperations(cluster)));
  return ops.sort((a, b) => cmp(b.created, a.created) || cmp(a.cluster, b.cluster) || cmp(b.id, a.id));
}

/** Per top-level phase: its first start and last change, from the changelog. */
export function groupTimings(phases: Phase[], changes: PlanChange[]): { id: string; started?: string; ended?: string; seconds?: number }[] {
  return phases.map((p) => {
    const mine = changes.filter((c) => c.phase === p.id || c.phase.startsWith(`${p.id}/`));
    if (mine.length === 0) return { id: p.id };
    const started = mine[0]!.at;
    const ended = mine[mine.length - 1]!.at;
    return { id: p.id, started, ended, seconds: Math.round((Date.parse(ended) - Date.parse(started)) / 1000) };
  });
}

async function show(ctx: Context, given: string): Promise<void> {
  const cluster = await ctx.clusterName();
  const store = ctx.store();
  const op = await store.getOperation(cluster, await resolveOperationId(store, cluster, given));
  const { plan, changes } = await ctx.planOf(op);
  const timings = groupTimings(plan.phases, changes);
  if (ctx.json) return ctx.outJson({ operation: op, timings });
  const lines = [
    `ID:         ${op.id}`,
    `Type:       ${op.type} ${op.from} → ${op.to} (${op.mode})`,
    `State:      ${op.state}${op.reason ? ` — ${op.reason}` : ''}`,
    `Created:    ${formatUpdated(op.created)} by ${op.createdBy.user}@${op.createdBy.host} (pid ${op.createdBy.pid})`,
    `Completed:  ${formatUpdated(finished(op))}`,
    ...(op.warnings ?? []).map((w) => `Warning:    ${w}`),
    'Timings:',
    ...columns(timings.map((t) => [t.id, t.seconds === undefined ? 'not started' : `${t.seconds} s`, formatUpdated(t.started)]))
      .split('\n')
      .map((l) => `    ${l.trimEnd()}`),
  ];
  ctx.out(`${lines.join('\n')}\n`);
}
