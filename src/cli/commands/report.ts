/**
 * `hoist report [--file report.tar.gz] [--since 24h]`: what a support engineer needs about a
 * cluster, in one archive. From the state directory: the cluster record, the status history, and
 * for each operation changed within `--since` its record, plan, changelog and debug log. From
 * every node (nodes/NAME/): its agent log and execution records, runtime logs, package store
 * index, etcd member state and health (cluster/node-report.ts), and kubectl's view of the
 * cluster from one master (nodes/NAME/kube/). index.json says what each node gave, or why it gave
 * nothing. Every file is redacted (agent/redact.ts) before it is written.
 */
import { promises as fs } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Command } from 'commander';
import { create } from 'tar';
import { redact } from '../../agent/redact.js';
import { collectNodeReports, type NodeReport } from '../../cluster/node-report.js';
import { agentArtifact } from '../../operation/agents.js';
import type { Context } from '../context.js';
import { type Action, parseDuration } from './shared.js';

/** Registers `report`. */
export function registerReport(program: Command, run: Action): void {
  program
    .command('report')
    .description("collect the cluster's operations, history and every node's logs and state into an archive (secrets redacted)")
    .option('--file <file>', 'archive to write', 'report.tar.gz')
    .option('--since <duration>', 'only operations, log lines and execution records of this long ago or newer (0s = all)', '336h')
    .action((o: { file: string; since: string }, cmd: Command) => run(cmd, (ctx) => report(ctx, o)));
}

async function report(ctx: Context, o: { file: string; since: string }): Promise<void> {
  const name = await ctx.clusterName();
  const since = o.since === '0s' || o.since === '0' ? 0 : Date.now() - parseDuration('--since', o.since);
  const out = path.resolve(ctx.io.cwd, o.file);
  const work = await fs.mkdtemp(path.join(tmpdir(), 'hoist-report-'));
  try {
    const files = await localFiles(ctx, name, since, work);
    // --state contacts no node: the archive says so instead of reading them.
    const nodes = ctx.offline ? undefined : await nodeReports(ctx, since);
    for (const n of nodes ?? []) {
      for (const f of n.files) files.push(await put(work, path.join('nodes', n.name, f.path), f.text));
    }
    const index = {
      cluster: name,
      generated: new Date().toISOString(),
      since: since ? new Date(since).toISOString() : null,
      nodes:
        nodes?.map(({ files: nodeFiles, ...n }) => ({
          ...n,
          files: nodeFiles.map((f) => ({ path: f.path, truncatedBytes: f.truncated })),
        })) ?? 'not read: --state plans offline',
    };
    files.unshift(await put(work, 'index.json', `${JSON.stringify(index, null, 2)}\n`));
    await create({ gzip: true, file: out, cwd: work, portable: true }, files);
    if (ctx.json) return ctx.outJson({ file: out, files, nodes: index.nodes });
    for (const n of nodes ?? [])
      if (n.state !== 'collected') ctx.progress.line(`${n.name}: ${n.state}: ${n.error ?? ''} (noted in index.json)`);
    ctx.out(`Wrote ${out} (${files.length} files)\n`);
  } finally {
    await fs.rm(work, { recursive: true, force: true });
  }
}

/**
 * The store's records of the cluster, as files and redacted: the cluster record, the status
 * history, and each operation changed since (read through the store, so an etcd store's too).
 */
async function localFiles(ctx: Context, name: string, since: number, work: string): Promise<string[]> {
  const store = ctx.store();
  const files: string[] = [];
  const json = (v: unknown): string => `${JSON.stringify(v, null, 2)}\n`;
  const ndjson = (items: unknown[]): string => items.map((i) => `${JSON.stringify(i)}\n`).join('');
  const cluster = await store.getCluster(name);
  if (cluster) files.push(await put(work, path.join(name, 'cluster.json'), json(cluster)));
  const history = await store.readHistory(name);
  if (history.length) files.push(await put(work, path.join(name, 'history.ndjson'), ndjson(history)));
  for (const op of await store.listOperations(name)) {
    if (new Date(op.updated).getTime() < since) continue;
    const dir = path.join(name, 'operations', op.id);
    files.push(await put(work, path.join(dir, 'operation.json'), json(op)));
    files.push(await put(work, path.join(dir, 'plan.json'), json(await store.getPlan(name, op.id))));
    files.push(await put(work, path.join(dir, 'changelog.ndjson'), ndjson(await store.readChanges(name, op.id))));
    const log = await fs.readFile(store.logPath(name, op.id), 'utf8').catch(() => undefined);
    if (log !== undefined) files.push(await put(work, path.join(dir, 'log.ndjson'), log));
  }
  return files;
}

async function nodeReports(ctx: Context, since: number): Promise<NodeReport[]> {
  const { nodes, agents, pool } = await ctx.connect();
  return collectNodeReports(
    { nodes, agents, pool, artifact: agentArtifact, signal: ctx.signal },
    since ? new Date(since).toISOString() : undefined,
  );
}

async function put(work: string, rel: string, text: string): Promise<string> {
  const file = path.join(work, rel);
  await fs.mkdir(path.dirname(file), { recursive: true });
  await fs.writeFile(file, redact(text));
  return rel;
}
