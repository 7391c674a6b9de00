/** `hoist sandbox up|down|status`: a local cluster of real sshd nodes for demos and tests. */
import path from 'node:path';
import type { Command } from 'commander';
import { UsageError } from '../../errors.js';
import { packagePath } from '../../package-root.js';
import { sandboxDown, sandboxStatus, sandboxUp, startSandboxStore } from '../../sandbox/index.js';
import { installSandboxImage } from '../../sandbox/install.js';
import { startSandboxKube } from '../../sandbox/kube-service.js';
import { type NodeChange, rebootSandboxNode, restartSandboxNode, stopSandboxNode } from '../../sandbox/node-control.js';
import type { Context } from '../context.js';
import { columns } from '../render/plan-table.js';
import { type Action, parseCount } from './shared.js';

interface UpOptions {
  masters: string;
  workers: string;
  dir?: string;
  firstAddress: string;
  image: string;
  user?: string;
  withoutNode: string[];
  bastionFor: string[];
  store?: string;
}

const collect = (value: string, list: string[]): string[] => [...list, value];

/** The demo image 1.0.0 shipped with hoist's sources. */
const DEMO_IMAGE = packagePath('fixtures', 'images', 'upgrade-demo-1.0.0');

/** Registers `sandbox`. */
export function registerSandbox(program: Command, run: Action): void {
  const sandbox = program.command('sandbox').description('a local cluster of real sshd nodes on loopback addresses');
  const dirOption = '--dir <dir>';
  const dirHelp = 'sandbox directory (default <state-dir>/sandbox)';
  sandbox
    .command('up')
    .description('start one sshd per node on 127.0.0.x and write cluster.yaml for it')
    .option('--masters <n>', 'master nodes', '3')
    .option('--workers <n>', 'worker nodes', '0')
    .option('--first-address <ip>', 'address of node-1; the others follow', '127.0.0.2')
    .option('--image <dir>', 'cluster image installed on the nodes', DEMO_IMAGE)
    .option('--user <name>', 'log in as this new non-root user with password-less sudo (removed by sandbox down)')
    .option('--without-node <node>', 'a node whose login environment has no Node.js (repeatable)', collect, [])
    .option('--bastion-for <node>', 'reach this node through an extra sshd as its bastion (repeatable)', collect, [])
    .option(
      '--store <kind>',
      'where operations are stored: json (the state directory) or etcd (a separate 3-member etcd the sandbox starts; default json)',
    )
    .option(dirOption, dirHelp)
    .action((o: UpOptions, cmd: Command) => run(cmd, (ctx) => up(ctx, o)));
  sandbox
    .command('down')
    .description('stop exactly the processes the sandbox started and remove its directory')
    .option(dirOption, dirHelp)
    .action((o: { dir?: string }, cmd: Command) => run(cmd, (ctx) => down(ctx, o.dir)));
  sandbox
    .command('status')
    .description('show the sandbox nodes and whether their sshd runs')
    .option(dirOption, dirHelp)
    .action((o: { dir?: string }, cmd: Command) => run(cmd, (ctx) => status(ctx, o.dir)));
  sandbox
    .command('stop-node')
    .description('take one node down: stop its agent, runtime (service, etcd member) and sshd')
    .argument('<name>', 'node name, e.g. node-2')
    .option(dirOption, dirHelp)
    .action((name: string, o: { dir?: string }, cmd: Command) =>
      run(cmd, (ctx) => nodeCommand(ctx, stopSandboxNode({ dir: dirOf(ctx, o.dir), node: name, log: ctx.logger }))),
    );
  sandbox
    .command('restart-node')
    .description('bring one node back: stop it if running, then start its sshd and installed runtime')
    .argument('<name>', 'node name, e.g. node-2')
    .option(dirOption, dirHelp)
    .action((name: string, o: { dir?: string }, cmd: Command) =>
      run(cmd, (ctx) => nodeCommand(ctx, restartSandboxNode({ dir: dirOf(ctx, o.dir), node: name, log: ctx.logger }))),
    );
  sandbox
    .command('reboot-node')
    .description('reboot one node: stop all its processes, boot the selected OS slot with a new boot id, assess a trial boot')
    .argument('<name>', 'node name, e.g. node-2')
    .option(dirOption, dirHelp)
    .action((name: string, o: { dir?: string }, cmd: Command) =>
      run(cmd, (ctx) => nodeCommand(ctx, rebootSandboxNode({ dir: dirOf(ctx, o.dir), node: name, log: ctx.logger }))),
    );
}

async function nodeCommand(ctx: Context, change: Promise<NodeChange>): Promise<void> {
  const done = await change;
  if (ctx.json) return ctx.outJson(done);
  ctx.out(done.running ? `Node ${done.node} is up (sshd pid ${done.pid})\n` : `Node ${done.node} is down\n`);
}

function dirOf(ctx: Context, dir?: string): string {
  return dir ? path.resolve(ctx.io.cwd, dir) : path.join(ctx.stateDir(), 'sandbox');
}

async function up(ctx: Context, o: UpOptions): Promise<void> {
  const masters = parseCount('--masters', o.masters);
  const workers = o.workers === '0' ? 0 : parseCount('--workers', o.workers);
  // The global --store takes the flag when it comes after "sandbox up" too (commander parses globals anywhere).
  const store = o.store ?? ctx.globals.store ?? 'json';
  if (store !== 'json' && store !== 'etcd') {
    throw new UsageError('ERR_USAGE_SANDBOX_STORE', `--store "${store}" is not json or etcd`, {
      hint: 'sandbox up --store etcd starts a separate etcd for the operations; json keeps them in the state directory',
    });
  }
  const dir = dirOf(ctx, o.dir);
  // sandboxUp cleans up after its own failures, and a refusal (a sandbox already running there)
  // must leave that sandbox alone: only what this call started is torn down below.
  const nodes = await sandboxUp({
    dir,
    masters,
    workers,
    firstAddress: o.firstAddress,
    log: ctx.logger,
    ...(o.user ? { user: o.user } : {}),
    withoutNode: o.withoutNode,
    bastionFor: o.bastionFor,
  });
  let record;
  let version: string;
  try {
    record = await startSandboxKube(nodes, ctx.logger);
    if (store === 'etcd') record = await startSandboxStore(record, ctx.logger);
    version = await installSandboxImage(record, path.resolve(ctx.io.cwd, o.image), ctx.logger);
  } catch (err) {
    // A half-built sandbox is torn down at once: nothing it started may outlive the failure.
    await sandboxDown({ dir, log: ctx.logger }).catch(() => undefined);
    throw err;
  }
  if (ctx.json) return ctx.outJson({ ...record, installedVersion: version });
  for (const n of record.nodes) ctx.out(`Started node ${n.name} (${n.address}, ${n.role}) sshd pid ${n.sshd.pid}\n`);
  if (record.bastion)
    ctx.out(`Started bastion (${record.bastion.address}) for ${record.bastion.for.join(', ')}, sshd pid ${record.bastion.sshd.pid}\n`);
  if (record.store) ctx.out(`Started the operation store etcd at ${record.store.members.map((m) => `${m.address}:2379`).join(', ')}\n`);
  if (record.user) ctx.out(`Nodes are reached as ${record.user.name} with password-less sudo (${record.user.sudoers})\n`);
  ctx.out(`Sandbox ${record.name} is up with version ${version} installed; inventory: ${record.clusterFile}\n`);
  ctx.progress.line(`Next: hoist -c ${record.clusterFile} agent deploy`);
}

async function down(ctx: Context, dir?: string): Promise<void> {
  const result = await sandboxDown({ dir: dirOf(ctx, dir), log: ctx.logger });
  if (ctx.json) return ctx.outJson(result);
  ctx.out(result.removed ? `Sandbox in ${dirOf(ctx, dir)} stopped and removed\n` : `No sandbox in ${dirOf(ctx, dir)}\n`);
}

async function status(ctx: Context, dir?: string): Promise<void> {
  const s = await sandboxStatus({ dir: dirOf(ctx, dir) });
  if (ctx.json) return ctx.outJson(s);
  if (!s.exists) return ctx.out(`No sandbox in ${s.dir}\n`);
  ctx.out(
    `${columns([
      ['Node', 'Role', 'Address', 'sshd', 'State'],
      ...s.nodes.map((n) => [n.name, n.role, n.address, String(n.pid), n.running ? 'running' : 'stopped']),
    ])}\n`,
  );
}
