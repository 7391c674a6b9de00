/** `hoist package list [--node NAME]`: the node package stores, as Gravity's `gravity package list` showed them. */
import type { Command } from 'commander';
import type { FactsResult } from '../../agent/actions/index.js';
import { humanSize } from '../../human-size.js';
import type { Context } from '../context.js';
import type { Action } from './shared.js';

/** Registers `package`. */
export function registerPackage(program: Command, run: Action): void {
  const pkg = program.command('package').description("inspect the nodes' package stores");
  pkg
    .command('list')
    .description('list the packages stored on the nodes, with their labels')
    .option('--node <name>', 'only this node')
    .action((o: { node?: string }, cmd: Command) => run(cmd, (ctx) => list(ctx, o.node)));
}

async function list(ctx: Context, only?: string): Promise<void> {
  const { agents } = await ctx.connect();
  const names = only ? [only] : agents.nodeNames();
  const facts = await Promise.all(names.map(async (n) => [n, await agents.run<FactsResult>(n, 'facts')] as const));
  if (ctx.json) return ctx.outJson(Object.fromEntries(facts.map(([n, f]) => [n, f.packages])));
  for (const [node, f] of facts) {
    ctx.out(`\n[${node}]\n${'-'.repeat(node.length + 2)}\n\n`);
    for (const p of f.packages) {
      const labels = Object.entries(p.labels)
        .map(([k, v]) => `${k}:${v}`)
        .join(',');
      ctx.out(`* ${p.name}:${p.version} ${humanSize(p.size)}${labels ? ` ${labels}` : ''}\n`);
    }
  }
}
