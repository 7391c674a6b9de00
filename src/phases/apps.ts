/**
 * Application phases, run through kubectl on the lead master: `/pre-update` runs the image's
 * preUpdate hook Job; `/runtime/<app>` and `/app/<app>` apply the app package's resources and run
 * its `update` hook Job (the image's own app also its postUpdate hook); rollback runs the
 * package's `rollback` hook Job.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ExitCode, HoistError } from '../errors.js';
import type { Executor, PhaseContext } from '../fsm/executor.js';
import { applyResources, runHookJob } from '../kube/index.js';
import { dataOf, type PhaseDeps } from './deps.js';
import { agentKubectl } from './kube-runner.js';

/** Reads files of package `name:version` of the target image (undefined where a file is absent). */
async function packageFiles(deps: PhaseDeps, locator: string, files: string[]): Promise<Record<string, string | undefined>> {
  const image = await deps.image();
  const entry = image.findPackage(locator);
  if (!entry)
    throw new HoistError('ERR_IMAGE_PACKAGE_MISSING', `the image ${image.source} has no package ${locator}`, ExitCode.invalidInput, {
      hint: 'rebuild the image with that package',
    });
  const dir = await mkdtemp(path.join(tmpdir(), 'hoist-app-'));
  try {
    await image.extractPackage(entry, dir);
    const out: Record<string, string | undefined> = {};
    for (const f of files) out[f] = await readFile(path.join(dir, f), 'utf8').catch(() => undefined);
    return out;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Runs a hook Job manifest, its log lines into the phase log and live status. */
async function hookJob(deps: PhaseDeps, ctx: PhaseContext, manifest: string): Promise<void> {
  const result = await runHookJob(agentKubectl(deps, ctx), manifest, {
    signal: ctx.signal,
    onLog: (line) => {
      ctx.report(line);
      ctx.logger.info({ event: 'hook.log' }, line);
    },
  });
  ctx.logger.info({ event: 'hook.done', job: result.job }, `hook job ${result.namespace}/${result.job} completed`);
}

/** Executor of `pre-update`: the image's preUpdate hook, if it has one. Nothing to undo. */
export function preUpdateExecutor(deps: PhaseDeps): Executor {
  return {
    async execute(ctx) {
      const image = await deps.image();
      const hook = image.manifest.spec.hooks.preUpdate;
      if (!hook) return ctx.logger.info({ event: 'hook.none' }, 'the image has no preUpdate hook');
      await hookJob(deps, ctx, await readFile(path.join(image.dir, hook), 'utf8'));
    },
    async rollback(ctx) {
      ctx.logger.info({ event: 'hook.rollback' }, 'the preUpdate hook has no rollback');
    },
    describe: () => "run the image's preUpdate hook Job",
  };
}

/** Executor of `update-app` (system apps and the application). */
export function updateAppExecutor(deps: PhaseDeps): Executor {
  const locator = (ctx: Pick<PhaseContext, 'phase'>): string => {
    const { app, version } = dataOf('update-app', ctx);
    return `${app}:${version}`;
  };
  return {
    async execute(ctx) {
      const files = await packageFiles(deps, locator(ctx), ['resources.yaml', 'jobs/update.yaml']);
      if (files['resources.yaml']) await applyResources(agentKubectl(deps, ctx), files['resources.yaml'], { signal: ctx.signal });
      if (files['jobs/update.yaml']) await hookJob(deps, ctx, files['jobs/update.yaml']);
      const image = await deps.image();
      const post = image.manifest.spec.hooks.postUpdate;
      if (dataOf('update-app', ctx).app === image.manifest.metadata.name && post)
        await hookJob(deps, ctx, await readFile(path.join(image.dir, post), 'utf8'));
    },
    async rollback(ctx) {
      const files = await packageFiles(deps, locator(ctx), ['jobs/rollback.yaml']);
      if (files['jobs/rollback.yaml']) await hookJob(deps, ctx, files['jobs/rollback.yaml']);
      else ctx.logger.warn({ event: 'hook.none' }, `${locator(ctx)} has no rollback hook; its resources stay as updated`);
    },
    describe: (ctx) => `apply ${locator(ctx)} and run its update hook`,
  };
}
