/**
 * `hoist report [--file report.tar.gz] [--since 24h]`: what a support engineer needs about a
 * cluster's operations, in one archive: the cluster record, and for each operation changed
 * within `--since` its record, plan, changelog and debug log.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { create } from 'tar';
import type { Context } from '../context.js';
import { type Action, parseDuration } from './shared.js';

/** Registers `report`. */
export function registerReport(program: Command, run: Action): void {
  program
    .command('report')
    .description("collect the cluster's operation records, plans, changelogs and logs into an archive")
    .option('--file <file>', 'archive to write', 'report.tar.gz')
    .option('--since <duration>', 'only operations changed within this long (0s = all)', '336h')
    .action((o: { file: string; since: string }, cmd: Command) => run(cmd, (ctx) => report(ctx, o)));
}

async function report(ctx: Context, o: { file: string; since: string }): Promise<void> {
  const name = await ctx.clusterName();
  const root = path.join(ctx.stateDir(), 'clusters');
  const since = o.since === '0s' || o.since === '0' ? 0 : Date.now() - parseDuration('--since', o.since);
  const files: string[] = [];
  if (await exists(path.join(root, name, 'cluster.json'))) files.push(path.join(name, 'cluster.json'));
  for (const op of await ctx.store().listOperations(name)) {
    if (new Date(op.updated).getTime() < since) continue;
    for (const f of ['operation.json', 'plan.json', 'changelog.ndjson', 'log.ndjson']) {
      const rel = path.join(name, 'operations', op.id, f);
      if (await exists(path.join(root, rel))) files.push(rel);
    }
  }
  const out = path.resolve(ctx.io.cwd, o.file);
  await create({ gzip: true, file: out, cwd: root, portable: true }, files);
  if (ctx.json) return ctx.outJson({ file: out, files });
  ctx.out(`Wrote ${out} (${files.length} files)\n`);
}

async function exists(file: string): Promise<boolean> {
  return fs.stat(file).then(
    () => true,
    () => false,
  );
}
