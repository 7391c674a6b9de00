/** Running hooks of runtime packages (Gravity's planet commands) on a node through its agent. */
import { ExitCode, HoistError } from '../errors.js';
import type { PhaseContext } from '../fsm/executor.js';
import { factsOf, type PhaseDeps, runOptions } from './deps.js';

/** Runs hook `hook` of package `locator` (`runtime:7.0.56-11709`) on `node` with `args`. */
export async function runHook(
  deps: PhaseDeps,
  ctx: PhaseContext,
  node: string,
  locator: string,
  hook: string,
  args: string[] = [],
): Promise<void> {
  ctx.report(`${hook} of ${locator} on ${node}`);
  await deps.nodes.run(node, 'exec.hook', { package: locator, hook, args }, runOptions(ctx));
}

/** The runtime the node runs now, as `runtime:<version>`. */
export async function currentRuntime(deps: PhaseDeps, ctx: PhaseContext, node: string): Promise<string> {
  const facts = await factsOf(deps, ctx, node);
  const version = facts.installed.runtime;
  if (!version) {
    throw new HoistError(
      'ERR_RUNTIME_UNKNOWN',
      `node ${node} records no running runtime (runtime/current in its state dir)`,
      ExitCode.phaseFailed,
      {
        node,
        hint: 'the node was not installed by hoist, or its runtime state was removed; check the node',
      },
    );
  }
  return `runtime:${version}`;
}

/** Runs `hook` of whatever runtime the node runs now. */
export async function runCurrentHook(deps: PhaseDeps, ctx: PhaseContext, node: string, hook: string, args: string[] = []): Promise<void> {
  await runHook(deps, ctx, node, await currentRuntime(deps, ctx, node), hook, args);
}
