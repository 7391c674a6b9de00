/** `hoist image build SRC --out FILE` and `hoist image inspect IMAGE`. */
import path from 'node:path';
import type { Command } from 'commander';
import { buildImage } from '../../image/build.js';
import { formatInspection, inspectImage } from '../../image/inspect.js';
import type { Context } from '../context.js';
import type { Action } from './shared.js';

/** Registers `image`. */
export function registerImage(program: Command, run: Action): void {
  const image = program.command('image').description('build and inspect cluster images');
  image
    .command('build')
    .description('pack an image source tree (app.yaml, hooks/, packages/<name>-<version>/) into an image')
    .argument('<src>', 'image source directory')
    .requiredOption('--out <file>', 'output: image.tar.gz, image.tar, or a new directory')
    .option('--force', 'replace --out when it holds an earlier build output (never anything else)')
    .option('--upgrade-via <image>', 'embed the runtime of an older image as an intermediate version (repeatable)', collect, [])
    .action((src: string, o: BuildFlags, cmd: Command) => run(cmd, (ctx) => build(ctx, src, o)));
  image
    .command('inspect')
    .description('list the packages of an image, each verified against its sha256')
    .argument('<image>', 'image directory, .tar/.tar.gz, or source directory')
    .action((img: string, _o: unknown, cmd: Command) => run(cmd, (ctx) => inspect(ctx, img)));
}

interface BuildFlags {
  out: string;
  force?: boolean;
  upgradeVia: string[];
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

async function build(ctx: Context, src: string, o: BuildFlags): Promise<void> {
  const built = await buildImage(path.resolve(ctx.io.cwd, src), path.resolve(ctx.io.cwd, o.out), {
    force: o.force === true,
    cwd: ctx.io.cwd,
    upgradeVia: o.upgradeVia.map((v) => path.resolve(ctx.io.cwd, v)),
  });
  if (ctx.json) return ctx.outJson(built);
  const hops = built.manifest.spec.upgradeVia.map((h) => h.version);
  ctx.out(
    `Built ${built.manifest.metadata.name}:${built.manifest.metadata.version} with ${built.index.packages.length} packages into ${built.path}${hops.length > 0 ? ` (upgrades via ${hops.join(', ')})` : ''}\n`,
  );
}

async function inspect(ctx: Context, img: string): Promise<void> {
  const inspection = await inspectImage(path.resolve(ctx.io.cwd, img));
  if (ctx.json) return ctx.outJson(inspection);
  ctx.out(formatInspection(inspection));
}
