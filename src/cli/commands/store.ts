/** `hoist store copy --from json|etcd://… --to json|etcd://…`: move a cluster's operations between stores. */
import { hostname } from 'node:os';
import type { Command } from 'commander';
import { UsageError } from '../../errors.js';
import { copyCluster } from '../../store/copy.js';
import { endpointUrls } from '../../store/etcd-client.js';
import { JsonStore } from '../../store/json-store.js';
import { type ClosableStore, etcdStoreChoice } from '../../store/selected-store.js';
import { checkStateDir } from '../../store/state-dir.js';
import { type Context, leaseTimingFromEnv } from '../context.js';
import type { Action } from './shared.js';

interface CopyOptions {
  from: string;
  to: string;
}

/** Registers `store`. */
export function registerStore(program: Command, run: Action): void {
  const store = program.command('store').description('the operation store (JSON files of the state directory, or etcd)');
  store
    .command('copy')
    .description("copy the cluster's records, operations, plans and changelogs to another store (refused while an operation is live)")
    .requiredOption('--from <store>', 'json (the state directory) or etcd://host:port[,host:port…]')
    .requiredOption('--to <store>', 'json (the state directory) or etcd://host:port[,host:port…]')
    .action((o: CopyOptions, cmd: Command) => run(cmd, (ctx) => copy(ctx, o)));
}

async function copy(ctx: Context, o: CopyOptions): Promise<void> {
  if (o.from === o.to) {
    throw new UsageError('ERR_USAGE_STORE_COPY', `--from and --to are the same store (${o.from})`, { hint: 'name two different stores' });
  }
  const spec = (await ctx.inventory()).config.spec.store;
  const open = (arg: string): { store: ClosableStore; name: string } => {
    const dir = ctx.stateDir();
    const timing = leaseTimingFromEnv(ctx.io.env);
    const etcd = etcdStoreChoice(arg, spec);
    if (!etcd) {
      checkStateDir(dir);
      return { store: new JsonStore(dir, timing), name: `the JSON store in ${dir}` };
    }
    return { store: ctx.openEtcdStore(etcd, dir, timing), name: `the etcd store at ${endpointUrls(etcd).join(', ')}` };
  };
  const from = open(o.from);
  const to = open(o.to);
  try {
    const cluster = await ctx.clusterName();
    const done = await copyCluster(
      from.store,
      to.store,
      cluster,
      { host: hostname(), pid: process.pid, command: ctx.command },
      {
        from: from.name,
        to: to.name,
      },
    );
    if (ctx.json) return ctx.outJson(done);
    ctx.out(`Copied cluster ${cluster}: ${done.operations} operations, ${done.changes} changes, from ${from.name} to ${to.name}\n`);
  } finally {
    await from.store.close();
    await to.store.close();
  }
}
