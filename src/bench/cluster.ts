/**
 * Benchmark rows that need real nodes: a sandbox of sshd nodes on 127.0.4.x, the agents deployed
 * on it, then an OpenSSH connection per call (the baseline hoist's pooled connection avoids), a
 * no-op action through a warm pooled connection, a no-op phase through the engine, and how long
 * deploying the agents takes on 3 and on 20 nodes. Everything started here is stopped here,
 * whatever fails.
 */
import { promises as fs } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import pino from 'pino';
import { deployAgent, type NodeIdentity, shutdownAgent } from '../agent/lifecycle.js';
import { ClusterAgents } from '../cluster/agents.js';
import { type NodeSettings, nodesOf, sshNodesOf, sshSettingsOf } from '../cluster/inventory.js';
import { loadInventory } from '../config/load.js';
import { Engine } from '../fsm/engine.js';
import { ExecutorRegistry } from '../fsm/executor.js';
import { silentProgress } from '../fsm/progress.js';
import { agentArtifact } from '../operation/agents.js';
import type { Phase, Plan } from '../plan/types.js';
import { type SandboxRecord, sandboxDown, sandboxUp } from '../sandbox/index.js';
import { commandLine, isAlive, signalProcess, waitForExit } from '../sandbox/processes.js';
import { SshPool } from '../ssh/pool.js';
import { JsonStore } from '../store/json-store.js';
import type { OperationRecord } from '../store/store.js';
import { hoistVersion } from '../version.js';
import { median, type Row, timed } from './measure.js';

const SMALL = { masters: 3, workers: 0, firstAddress: '127.0.4.2' };
const LARGE = { masters: 3, workers: 17, firstAddress: '127.0.4.100' };
const NOOP_ACTION = 'check.time';

/** A sandbox with its inventory, its SSH pool and its agents. */
interface BenchCluster {
  record: SandboxRecord;
  nodes: NodeSettings[];
  pool: SshPool;
  agents: ClusterAgents;
}

/** The rows that need a sandbox; brings up and tears down every sandbox it uses. */
export async function clusterRows(): Promise<Row[]> {
  const root = await fs.mkdtemp(path.join(tmpdir(), 'hoist-bench-cluster-'));
  const started: BenchCluster[] = [];
  const up = async (layout: typeof SMALL, name: string): Promise<BenchCluster> => {
    const record = await sandboxUp({ dir: path.join(root, name), name, ...layout });
    const { config } = await loadInventory(record.clusterFile);
    const nodes = nodesOf(config);
    const pool = new SshPool(sshNodesOf(nodes), sshSettingsOf(config));
    const cluster = { record, nodes, pool, agents: new ClusterAgents(nodes, pool, { version: hoistVersion() }) };
    started.push(cluster);
    return cluster;
  };
  try {
    const small = await up(SMALL, 'bench-3');
    const deploy3 = await deployTime(small);
    const again3 = await deployTime(small);
    const restart3 = await deployTime(small, true);
    const rows: Row[] = [
      { what: 'agent deploy, 3 nodes (connect, upload, start)', measured: deploy3, unit: 'ms', target: 5_000 },
      { what: 'agent deploy again, 3 nodes (this build runs already: agents kept)', measured: again3, unit: 'ms', target: 5_000 },
      { what: 'agent deploy --restart, 3 nodes (the running agents stopped first)', measured: restart3, unit: 'ms', target: 5_000 },
      {
        what: 'new OpenSSH connection + `true` (ssh -i …), median of 5',
        measured: await median(5, () => plainSsh(small.record)),
        unit: 'ms',
      },
      { what: 'command `true` on a warm pooled connection (exec channel), median of 20', measured: await warmExec(small), unit: 'ms' },
      {
        what: `no-op action (${NOOP_ACTION}), warm pooled connection, median of 200`,
        measured: await warmAction(small),
        unit: 'ms',
        target: 5,
      },
      {
        what: 're-attach of a finished execution (recorded result replayed), warm connection, median of 200',
        measured: await reattachFinished(small),
        unit: 'ms',
      },
      {
        what: 'no-op remote phase through the engine (2 fsyncs), median of 100',
        measured: await enginePhase(small, path.join(root, 'store')),
        unit: 'ms',
        target: 5,
      },
    ];
    await stop(small, started);
    const large = await up(LARGE, 'bench-20');
    rows.push({ what: 'agent deploy, 20 nodes (connect, upload, start)', measured: await deployTime(large), unit: 'ms', target: 10_000 });
    rows.push({ what: 'agent deploy again, 20 nodes (agents kept)', measured: await deployTime(large), unit: 'ms', target: 10_000 });
    return rows;
  } finally {
    for (const cluster of [...started]) await stop(cluster, started);
    await fs.rm(root, { recursive: true, force: true });
  }
}

/** Deploys (or redeploys) the agent on every node over fresh connections, as `hoist agent deploy` does. */
async function deployTime(cluster: BenchCluster, restart = false): Promise<number> {
  await cluster.agents.close();
  const artifact = agentArtifact();
  const masters = cluster.nodes.filter((n) => n.role === 'master').map((n) => ({ name: n.name, address: n.address }));
  const [, ms] = await timed(() =>
    Promise.all(
      cluster.nodes.map((n) => {
        const identity: NodeIdentity = { cluster: cluster.record.name, name: n.name, address: n.address, role: n.role, masters };
        return deployAgent(cluster.pool.get(n.name), n, artifact, identity, { restart });
      }),
    ),
  );
  return ms;
}

/** One `ssh … true` with OpenSSH: a new connection, key exchange and authentication every time. */
async function plainSsh(record: SandboxRecord): Promise<number> {
  const node = record.nodes[0]!;
  const args = [
    '-F',
    '/dev/null',
    '-i',
    record.identityFile,
    '-o',
    `UserKnownHostsFile=${record.knownHostsFile}`,
    '-o',
    'StrictHostKeyChecking=yes',
    '-o',
    'BatchMode=yes',
    '-o',
    'IdentitiesOnly=yes',
    `root@${node.address}`,
    'true',
  ];
  return (await timed(() => execa('ssh', args, { stdin: 'ignore' })))[1];
}

/** One exec channel on node-1's pooled connection: what each step of a deploy costs at least. */
async function warmExec(cluster: BenchCluster): Promise<number> {
  const t = cluster.pool.get('node-1');
  await t.exec('true');
  return median(20, async () => (await timed(() => t.exec('true')))[1]);
}

/** The no-op action on node-1 through the pooled connection, after a warm-up. */
async function warmAction(cluster: BenchCluster): Promise<number> {
  for (let i = 0; i < 20; i++) await cluster.agents.run('node-1', NOOP_ACTION);
  return median(200, async () => (await timed(() => cluster.agents.run('node-1', NOOP_ACTION)))[1]);
}

/** Attach to an execution that already finished on node-1: what a resume pays per replayed step. */
async function reattachFinished(cluster: BenchCluster): Promise<number> {
  let execution = '';
  await cluster.agents.run('node-1', NOOP_ACTION, {}, { onAccepted: (id) => (execution = id) });
  for (let i = 0; i < 20; i++) await cluster.agents.follow('node-1', execution);
  return median(200, async () => (await timed(() => cluster.agents.follow('node-1', execution)))[1]);
}

/** `plan execute --phase /noop-N` end to end: eligibility, in_progress and completed fsynced, one agent action. */
async function enginePhase(cluster: BenchCluster, storeDir: string): Promise<number> {
  const runs = 100;
  const now = new Date().toISOString();
  const phases: Phase[] = Array.from({ length: runs + 10 }, (_, i) => ({
    id: `/noop-${i}`,
    executor: 'noop',
    description: 'no-op remote phase',
    node: 'node-1',
    requires: [],
  }));
  const plan: Plan = {
    operationId: 'op-noop',
    operationType: 'upgrade',
    cluster: 'bench',
    createdAt: now,
    from: '1.0.0',
    to: '2.0.0',
    leader: 'node-1',
    servers: cluster.nodes.map((n) => ({ name: n.name, address: n.address, role: n.role })),
    phases,
  };
  const op: OperationRecord = {
    id: plan.operationId,
    type: 'upgrade',
    cluster: 'bench',
    state: 'in_progress',
    from: '1.0.0',
    to: '2.0.0',
    image: 'bench',
    mode: 'manual',
    created: now,
    updated: now,
    createdBy: { host: hostname(), pid: process.pid, user: 'bench' },
  };
  const store = new JsonStore(storeDir);
  const lease = await store.lock('bench', { host: hostname(), pid: process.pid, command: 'bench' });
  try {
    await store.createOperation(op, plan, lease);
    const registry = new ExecutorRegistry().register('noop', () => ({
      execute: async (ctx) =>
        void (await cluster.agents.run(
          ctx.phase.node!,
          NOOP_ACTION,
          {},
          { operationId: ctx.operation.id, phaseId: ctx.phase.id, signal: ctx.signal },
        )),
      rollback: async () => undefined,
    }));
    const engine = new Engine({
      store,
      plan,
      operation: op,
      changes: [],
      registry,
      logger: pino({ level: 'silent' }),
      progress: silentProgress,
      owner: { host: hostname(), pid: process.pid },
      lease,
    });
    // The first phases warm the changelog file and the connection.
    for (let i = 0; i < 10; i++) await engine.execute(`/noop-${runs + i}`);
    return await median(runs, async (i) => (await timed(() => engine.execute(`/noop-${i}`)))[1]);
  } finally {
    await lease.release();
    await store.close();
  }
}

/** Shuts the agents down, stops the sandbox, and kills any agent of it that is somehow still there. */
async function stop(cluster: BenchCluster, started: BenchCluster[]): Promise<void> {
  started.splice(started.indexOf(cluster), 1);
  const pids = await Promise.all(cluster.nodes.map((n) => agentPid(n, cluster.record.dir)));
  await cluster.agents.close();
  const pool = new SshPool(sshNodesOf(cluster.nodes), sshSettingsOf(await configOf(cluster)));
  await Promise.allSettled(cluster.nodes.map((n) => shutdownAgent(pool.get(n.name), n)));
  await pool.closeAll();
  const left = pids.filter((p): p is number => p !== undefined);
  for (const pid of left) if (await isAlive(pid)) signalProcess(pid, 'SIGKILL');
  await waitForExit(left, 5_000);
  await sandboxDown({ dir: cluster.record.dir });
}

async function configOf(cluster: BenchCluster) {
  return (await loadInventory(cluster.record.clusterFile)).config;
}

/** The node's agent pid, only if that process is an agent of this sandbox. */
async function agentPid(node: NodeSettings, dir: string): Promise<number | undefined> {
  const pid = Number.parseInt(await fs.readFile(path.join(node.nodeStateDir, 'agent', 'agent.pid'), 'utf8').catch(() => ''), 10);
  if (!Number.isInteger(pid) || pid <= 1) return undefined;
  const cmd = (await commandLine(pid)) ?? '';
  return cmd.includes('hoist-agent') && cmd.includes(`${dir}/`) ? pid : undefined;
}
