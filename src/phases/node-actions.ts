/**
 * `…/pre-actions` and `…/post-actions`: the image's per-node actions (`spec.nodeActions`), run in
 * order by the node's agent. A command becomes a hook of a package generated for the operation
 * (`node-actions-<stage>:<version>`), so the agent still runs only package hooks, each with its
 * timeout, its process group and its output streamed into the operation log. The first failure
 * fails the phase with the tail of that action's output. Actions cannot be undone: rollback
 * records that and changes nothing.
 */
import { ExitCode, HoistError } from '../errors.js';
import type { Executor, PhaseContext } from '../fsm/executor.js';
import { LABEL } from '../image/schema.js';
import type { NodeActionFacts } from '../plan/builder/input.js';
import { factsOf, nodeOf, type PhaseDeps, runOptions } from './deps.js';
import { buildPackage, pushBlob } from './packages.js';

/** Lines of a failed action's output shown in the phase error. */
const TAIL_LINES = 5;
/** Seconds an action may run when the image gives no timeout. */
export const DEFAULT_ACTION_TIMEOUT_SECONDS = 300;

type Stage = 'preUpgrade' | 'postUpgrade';

function stageOf(ctx: Pick<PhaseContext, 'phase'>): { stage: Stage; actions: NodeActionFacts[] } {
  const data = ctx.phase.data ?? {};
  return { stage: data.stage === 'postUpgrade' ? 'postUpgrade' : 'preUpgrade', actions: (data.actions as NodeActionFacts[]) ?? [] };
}

const kebab = (stage: Stage): string => (stage === 'preUpgrade' ? 'pre-upgrade' : 'post-upgrade');

/** The generated package holding the stage's commands as hooks named after the actions. */
async function commandPackage(ctx: PhaseContext, stage: Stage, actions: NodeActionFacts[]) {
  const hooks: Record<string, unknown> = {};
  for (const a of actions) {
    if (a.run !== undefined) hooks[a.name] = { run: a.run, timeoutSeconds: a.timeoutSeconds ?? DEFAULT_ACTION_TIMEOUT_SECONDS };
  }
  return buildPackage({ name: `node-actions-${kebab(stage)}`, version: ctx.operation.to, labels: { purpose: 'node-actions' }, hooks }, {});
}

/** Executor of `pre-actions` and `post-actions`. */
export function nodeActionsExecutor(deps: PhaseDeps): Executor {
  return {
    async execute(ctx) {
      const node = nodeOf(ctx);
      const { stage, actions } = stageOf(ctx);
      const generated = await commandPackage(ctx, stage, actions);
      const { name, version } = generated.entry;
      const facts = await factsOf(deps, ctx, node);
      // Same operation, same image: a package already there holds the same hooks (resume).
      if (!facts.packages.some((p) => p.name === name && p.version === version)) {
        await pushBlob(deps, ctx, node, generated.entry, generated.blob, {
          purpose: 'node-actions',
          [LABEL.operationId]: ctx.operation.id,
        });
      }
      for (const action of actions) await runAction(deps, ctx, node, stage, action, `${name}:${version}`);
    },
    async rollback(ctx) {
      ctx.logger.info({ event: 'node-actions.rollback' }, 'node actions are not undone; nothing to roll back');
    },
    describe: (ctx) => {
      const { stage, actions } = stageOf(ctx);
      return `run the ${kebab(stage)} actions ${actions.map((a) => a.name).join(', ')} on ${ctx.phase.node}`;
    },
  };
}

async function runAction(
  deps: PhaseDeps,
  ctx: PhaseContext,
  node: string,
  stage: Stage,
  action: NodeActionFacts,
  generated: string,
): Promise<void> {
  const what = `${kebab(stage)} action "${action.name}" on ${node}`;
  ctx.report(`${what}`);
  ctx.logger.info({ event: 'node-actions.run', action: action.name, stage }, `running ${what}`);
  let output = '';
  const base = runOptions(ctx);
  const options = {
    ...base,
    onOutput: (stream: 'stdout' | 'stderr', data: string) => {
      output = (output + data).slice(-8192);
      base.onOutput?.(stream, data);
    },
  };
  const params = action.run !== undefined ? { package: generated, hook: action.name } : { package: action.package, hook: action.hook };
  try {
    await deps.nodes.run(node, 'exec.hook', { ...params, args: [] }, options);
  } catch (err) {
    if (ctx.signal.aborted || !HoistError.isHoistError(err) || !['ERR_HOOK_FAILED', 'ERR_HOOK_TIMEOUT'].includes(err.code)) throw err;
    const tail = output.trimEnd().split('\n').slice(-TAIL_LINES);
    const shown = tail.length > 0 && tail[0] !== '' ? `; output ends: ${tail.join(' ⏎ ')}` : '; it printed nothing';
    throw new HoistError('ERR_NODE_ACTION_FAILED', `${what} failed: ${err.message}${shown}`, ExitCode.phaseFailed, {
      node,
      hint: `fix the cause on ${node} (or the action in the image's spec.nodeActions.${stage}), then resume`,
      details: tail,
      cause: err,
    });
  }
}
