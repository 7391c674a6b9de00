/** `hoist agent deploy|status|shutdown|run`. */
import path from 'node:path';
import type { Command } from 'commander';
import pino from 'pino';
import { agentHello } from '../../agent/lifecycle.js';
import { startAgent } from '../../agent/server.js';
import { UnreachableError } from '../../errors.js';
import { type AgentTouch, deployAgents, shutdownAgents } from '../../operation/agents.js';
import { repairRecords } from '../../operation/locked.js';
import type { Lease } from '../../store/store.js';
import { hoistVersion } from '../../version.js';
import type { Context } from '../context.js';
import { columns } from '../render/plan-table.js';
import type { Action } from './shared.js';

/** Registers `agent` and its subcommands. */
export function registerAgent(program: Command, run: Action): void {
  const agent = program.command('agent').description('manage the hoist agents on the cluster nodes');
  agent
    .command('deploy')
    .description('upload and start the agent on every node, in parallel (one that runs this build already keeps running)')
    .option('--restart', 'restart agents that run this build already too')
    .option('--force', 'also restart agents that run executions or serve another operation')
    .action((o: { force?: boolean; restart?: boolean }, cmd: Command) => run(cmd, (ctx) => deployAll(ctx, !!o.force, !!o.restart)));
  agent
    .command('status')
    .description('show which nodes have a live agent (exit 5 if any is offline)')
    .action((_o: unknown, cmd: Command) => run(cmd, (ctx) => status(ctx)));
  agent
    .command('shutdown')
    .description('stop and remove the agent on every node')
    .option('--force', 'also stop agents that run executions or serve another operation')
    .action((o: { force?: boolean }, cmd: Command) => run(cmd, (ctx) => shutdownAll(ctx, !!o.force)));
  agent
    .command('run')
    .description('run the agent in the foreground on this node (what deploy starts on each node)')
    .requiredOption('--node-state-dir <dir>', "the node's hoist state directory")
    .action((o: { nodeStateDir: string }, cmd: Command) => run(cmd, (ctx) => runHere(ctx, o.nodeStateDir)));
}

/**
 * Who is asking: under the cluster lease, on behalf of this state directory's active operation,
 * once a close cut short by a crash is repaired (which releases that operation's node leases).
 */
async function touch(ctx: Context, cluster: string, lease: Lease, force: boolean): Promise<AgentTouch> {
  const operationId = (await repairRecords(ctx, cluster, lease, { nodes: true })).record?.activeOperation;
  return { force, ...(operationId ? { operationId } : {}) };
}

async function deployAll(ctx: Context, force: boolean, restart: boolean): Promise<void> {
  const cluster = await ctx.clusterName();
  const kept = await ctx.withLock(cluster, async (lease) =>
    deployAgents(ctx, undefined, { ...(await touch(ctx, cluster, lease, force)), ...(restart ? { restart } : {}) }),
  );
  if (ctx.json) {
    const deployed = (await ctx.connect()).nodes.map((n) => ({ name: n.name, address: n.address, restarted: !kept.includes(n.name) }));
    ctx.outJson({ deployed });
  }
}

async function status(ctx: Context): Promise<void> {
  const { nodes, pool } = await ctx.connect();
  const rows = await Promise.all(
    nodes.map(async (n) => {
      const info = await agentHello(pool.get(n.name), n);
      return { name: n.name, address: n.address, status: info ? 'Deployed' : 'Offline', version: info?.version ?? 'N/A' };
    }),
  );
  if (ctx.json) ctx.outJson({ agents: rows });
  else
    ctx.out(`${columns([['Hostname', 'Address', 'Status', 'Version'], ...rows.map((r) => [r.name, r.address, r.status, r.version])])}\n`);
  const offline = rows.filter((r) => r.status === 'Offline');
  if (offline.length > 0) {
    throw new UnreachableError(
      'ERR_AGENT_OFFLINE',
      `some agents are offline: ${offline.map((r) => `${r.name} (${r.address})`).join(', ')}`,
      { hint: 'deploy them with "hoist agent deploy"' },
    );
  }
}

async function shutdownAll(ctx: Context, force: boolean): Promise<void> {
  const cluster = await ctx.clusterName();
  await ctx.withLock(cluster, async (lease) => shutdownAgents(ctx, await touch(ctx, cluster, lease, force)));
  if (ctx.json) ctx.outJson({ shutdown: (await ctx.connect()).nodes.map((n) => n.name) });
}

async function runHere(ctx: Context, stateDir: string): Promise<void> {
  const dir = path.resolve(ctx.io.cwd, stateDir);
  const log = pino(
    { level: ctx.globals.debug ? 'debug' : 'info' },
    pino.destination({ dest: path.join(dir, 'agent', 'agent.log'), mkdir: true, sync: true }),
  );
  const agent = await startAgent({ stateDir: dir, version: hoistVersion(), log });
  ctx.progress.line(`hoist agent ${hoistVersion()} serving ${agent.socketPath}`);
  const stop = (): void => void agent.stop();
  ctx.io.signal.addEventListener('abort', stop, { once: true });
  process.once('SIGTERM', stop);
  await agent.stopped;
}
