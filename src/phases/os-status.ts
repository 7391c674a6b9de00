/** Reading a node's OS boot report through its agent, and waiting for a node to boot again. */
import type { OsStatus } from '../agent/actions/index.js';
import { ExitCode, HoistError } from '../errors.js';
import type { PhaseContext } from '../fsm/executor.js';
import { factsOf, type PhaseDeps } from './deps.js';

/** Seconds between two looks at a node that is rebooting. */
const POLL_MS = 1_000;

/** The node's OS report; a node without one cannot take an OS upgrade. */
export async function osStatusOf(deps: PhaseDeps, ctx: PhaseContext, node: string): Promise<OsStatus> {
  const facts = await factsOf(deps, ctx, node);
  if (!facts.os) {
    throw new HoistError(
      'ERR_OS_STATUS_MISSING',
      `node ${node} reports no OS boot status (os/status.json in its state dir)`,
      ExitCode.phaseFailed,
      {
        node,
        hint: "the node's OS updater writes it at every boot (see the os-upgrade hook contract in the README)",
      },
    );
  }
  return facts.os;
}

const sleep = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve) => {
    const t = setTimeout(resolve, ms);
    signal.addEventListener(
      'abort',
      () => {
        clearTimeout(t);
        resolve();
      },
      { once: true },
    );
  });

/**
 * Waits until the node answers with a boot id other than `before`: SSH back, agent back, new
 * boot. Every failed look (node down, agent not yet started) forgets the connection, so the
 * next look connects afresh.
 */
export async function waitForNewBoot(
  deps: PhaseDeps,
  ctx: PhaseContext,
  node: string,
  before: string,
  timeoutSeconds: number,
): Promise<OsStatus> {
  const deadline = Date.now() + timeoutSeconds * 1000;
  let last = 'no answer yet';
  for (;;) {
    if (ctx.signal.aborted) throw ctx.signal.reason ?? new Error('aborted');
    try {
      const status = await osStatusOf(deps, ctx, node);
      if (status.bootId !== before) return status;
      last = `still on boot ${before}`;
    } catch (err) {
      if (ctx.signal.aborted) throw err;
      last = (err as Error).message;
      await deps.nodes.reset(node);
    }
    if (Date.now() >= deadline) {
      throw new HoistError(
        'ERR_NODE_REBOOT_TIMEOUT',
        `node ${node} did not come back from its reboot within ${timeoutSeconds} s (${last})`,
        ExitCode.phaseFailed,
        {
          node,
          hint: `check the node's console; once it answers, run hoist plan resume (a node that needs longer: raise spec.os.rebootTimeoutSeconds in the image)`,
        },
      );
    }
    await sleep(POLL_MS, ctx.signal);
  }
}
