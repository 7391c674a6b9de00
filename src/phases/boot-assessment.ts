/**
 * `…/boot-assessment`: waits for the node's verdict on its trial boot of the new OS release. The
 * node assesses the boot itself (the checks armed by `os-upgrade`, within the timeout): a pass
 * makes the slot its default, a failure or a timeout makes it reboot into the previous slot on
 * its own. hoist reads the verdict from the node's OS report and, on a pass, checks the runtime's
 * health too; a failure fails the phase naming the check and the tail of its output.
 */
import type { OsStatus } from '../agent/actions/index.js';
import { ExitCode, HoistError } from '../errors.js';
import type { Executor } from '../fsm/executor.js';
import { dataOf, nodeOf, type PhaseDeps } from './deps.js';
import { osStatusOf } from './os-status.js';
import { runCurrentHook } from './runtime-hooks.js';

/** Seconds on top of the assessment's own timeout: the node's fallback reboot. */
const FALLBACK_MARGIN_SECONDS = 120;
const TAIL_LINES = 5;

type Verdict = { state: 'passed' } | { state: 'failed'; status: OsStatus } | { state: 'waiting'; why: string };

/** What the node says of its trial boot of `release`: passed, failed (and back on another boot) or not yet. */
export function verdictOf(status: OsStatus, release: string): Verdict {
  const a = status.assessment;
  if (!a || status.slots[a.slot]?.release !== release)
    return { state: 'waiting', why: `no assessment of ${release} yet (runs ${status.release})` };
  if (a.state === 'passed' && status.release === release) return { state: 'passed' };
  // A failed trial counts once the node is back on another boot, so the error names where it fell back to.
  if (a.state === 'failed' && status.bootId !== a.bootId) return { state: 'failed', status };
  return { state: 'waiting', why: `assessment ${a.state}` };
}

function failure(node: string, release: string, status: OsStatus): HoistError {
  const a = status.assessment!;
  const tail = (a.output ?? '').trimEnd().split('\n').slice(-TAIL_LINES);
  const shown = tail.length > 0 && tail[0] !== '' ? `; output ends: ${tail.join(' ⏎ ')}` : '';
  return new HoistError(
    'ERR_BOOT_ASSESSMENT_FAILED',
    `boot of OS ${release} on ${node} failed its assessment (${a.check === 'timeout' ? 'timed out' : `check "${a.check ?? '?'}" failed`}); the node fell back to slot ${status.activeSlot} (OS ${status.release})${shown}`,
    ExitCode.phaseFailed,
    { node, details: tail, hint: `fix the image's spec.os (or the node), then roll back /…/os-upgrade of ${node} or resume` },
  );
}

/** Executor of `boot-assessment`. */
export function bootAssessmentExecutor(deps: PhaseDeps): Executor {
  return {
    async execute(ctx) {
      const node = nodeOf(ctx);
      const { release, timeoutSeconds } = dataOf('boot-assessment', ctx);
      const deadline = Date.now() + (timeoutSeconds + FALLBACK_MARGIN_SECONDS) * 1000;
      let why = '';
      for (;;) {
        try {
          const verdict = verdictOf(await osStatusOf(deps, ctx, node), release);
          if (verdict.state === 'passed') break;
          if (verdict.state === 'failed') throw failure(node, release, verdict.status);
          why = verdict.why;
        } catch (err) {
          if (ctx.signal.aborted || (HoistError.isHoistError(err) && err.code === 'ERR_BOOT_ASSESSMENT_FAILED')) throw err;
          why = (err as Error).message;
          await deps.nodes.reset(node);
        }
        if (Date.now() >= deadline) {
          throw new HoistError(
            'ERR_BOOT_ASSESSMENT_TIMEOUT',
            `node ${node} gave no verdict on its boot of OS ${release} in time (${why})`,
            ExitCode.phaseFailed,
            {
              node,
              hint: 'check the node; it falls back to the previous slot by itself if the boot is not assessed',
            },
          );
        }
        ctx.report(`waiting for the assessment of ${node}: ${why}`);
        await new Promise((r) => setTimeout(r, 1_000));
      }
      await runCurrentHook(deps, ctx, node, 'health');
    },
    async rollback(ctx) {
      ctx.logger.info({ event: 'boot-assessment.rollback' }, 'an assessment changes nothing; nothing to undo');
    },
    describe: (ctx) =>
      `wait for ${ctx.phase.node} to pass the assessment of its boot of OS ${dataOf('boot-assessment', ctx).release}, then check its runtime`,
  };
}
