/**
 * `/checks` (spec §8): on every node, through its agent, the temp dir is writable, the state dir
 * writes fast enough and has room, the agent is this hoist's version; across nodes, clocks agree.
 * Every failure is collected so the operator sees all of them at once.
 */
import type { CheckTimeResult, DiskWriteResult, FactsResult } from '../agent/actions/index.js';
import { ExitCode, HoistError } from '../errors.js';
import type { Executor, PhaseContext } from '../fsm/executor.js';
import { humanSize } from '../human-size.js';
import { dataOf, type PhaseDeps, runOptions } from './deps.js';

/** Gravity's defaults, used where the image states no requirement. */
const DEFAULT_REQUIREMENTS = { minDiskWriteMBps: 10, maxTimeDriftMs: 300, minFreeStateDirBytes: 0 };

type Requirements = typeof DEFAULT_REQUIREMENTS;

interface NodeReport {
  node: string;
  failures: string[];
  /** Node clock minus the midpoint of our request, ms. */
  offsetMs?: number;
  /** Half the round trip of that request: the true offset lies within offsetMs ± this. */
  uncertaintyMs?: number;
}

/** Clock samples per node: the one with the shortest round trip is kept (Cristian's method). */
const CLOCK_SAMPLES = 5;
/** A round trip this short is as good as any further sample gets. */
const GOOD_ROUND_TRIP_MS = 20;

/** Executor of `checks`. Checks change nothing, so rollback has nothing to undo. */
export function checksExecutor(deps: PhaseDeps): Executor {
  return {
    async execute(ctx) {
      const req: Requirements = { ...DEFAULT_REQUIREMENTS, ...dataOf('checks', ctx).requirements };
      const nodes = ctx.plan.servers.map((s) => s.name);
      const reports = await Promise.all(nodes.map((n) => checkNode(deps, ctx, n, req)));
      const failures = reports.flatMap((r) => r.failures.map((f) => `${r.node}: ${f}`));
      failures.push(...driftFailures(reports, req.maxTimeDriftMs));
      if (failures.length > 0) {
        throw new HoistError(
          'ERR_CHECKS_FAILED',
          `The following checks failed:\n${failures.map((f) => `  * ${f}`).join('\n')}`,
          ExitCode.phaseFailed,
          {
            details: failures,
            hint: 'fix the nodes, then re-run "hoist plan execute --phase /checks"',
          },
        );
      }
      ctx.logger.info({ event: 'checks.passed', nodes }, `Servers ${nodes.join(', ')} passed the preflight checks`);
    },
    async rollback(ctx) {
      ctx.logger.info({ event: 'checks.rollback' }, 'checks change nothing; nothing to undo');
    },
    describe: () => 'check temp dirs, disk write speed, free space, agent versions and clock drift on every node',
  };
}

async function checkNode(deps: PhaseDeps, ctx: PhaseContext, node: string, req: Requirements): Promise<NodeReport> {
  const report: NodeReport = { node, failures: [] };
  const opts = runOptions(ctx);
  const attempt = async (what: string, fn: () => Promise<void>): Promise<void> => {
    try {
      await fn();
    } catch (err) {
      // An unreachable node is not a failed check: it fails the phase with exit 5, once.
      if (ctx.signal.aborted || (HoistError.isHoistError(err) && err.exitCode === ExitCode.unreachable)) throw err;
      report.failures.push(`${what}: ${err instanceof Error ? err.message : String(err)}`);
    }
  };
  await attempt('agent', async () => {
    const facts = await deps.nodes.run<FactsResult>(node, 'facts', {}, opts);
    if (facts.agentVersion !== deps.version)
      report.failures.push(`agent version ${facts.agentVersion} differs from hoist ${deps.version} (redeploy with "hoist agent deploy")`);
    if (facts.stateDirFreeBytes < req.minFreeStateDirBytes) {
      report.failures.push(`state dir has ${humanSize(facts.stateDirFreeBytes)} free, ${humanSize(req.minFreeStateDirBytes)} required`);
    }
  });
  await attempt('temp directory', async () => {
    await deps.nodes.run(node, 'check.tmp', {}, opts);
  });
  await attempt('disk write', async () => {
    const disk = await deps.nodes.run<DiskWriteResult>(node, 'check.disk-write', {}, opts);
    if (disk.bestMBps < req.minDiskWriteMBps)
      report.failures.push(
        `disk write speed ${Math.round(disk.bestMBps)} MB/s of the state dir is below the required ${req.minDiskWriteMBps} MB/s`,
      );
    else
      ctx.logger.info(
        { event: 'checks.disk', node, MBps: disk.bestMBps },
        `${node} passed the disk I/O check: ${Math.round(disk.bestMBps)} MB/s`,
      );
  });
  await attempt('clock', async () => {
    // A busy node or orchestrator delays one direction of a request more than the other; only the
    // shortest round trip bounds that error tightly, so a slow sample cannot pass for drift.
    for (let i = 0; i < CLOCK_SAMPLES; i++) {
      const sent = Date.now();
      const time = await deps.nodes.run<CheckTimeResult>(node, 'check.time', {}, opts);
      const received = Date.now();
      const half = (received - sent) / 2;
      if (report.uncertaintyMs === undefined || half < report.uncertaintyMs) {
        report.offsetMs = time.time - (sent + received) / 2;
        report.uncertaintyMs = half;
      }
      if (half * 2 <= GOOD_ROUND_TRIP_MS) break;
    }
  });
  return report;
}

/**
 * Drift = spread of the nodes' clock offsets. A pair fails only when the drift exceeds the
 * allowance by more than both measurements' uncertainty: a loaded orchestrator must not fail a
 * cluster whose clocks agree, and a real drift of seconds still fails.
 */
export function driftFailures(reports: { node: string; offsetMs?: number; uncertaintyMs?: number }[], maxMs: number): string[] {
  const known = reports.filter((r): r is { node: string; offsetMs: number; uncertaintyMs?: number } => r.offsetMs !== undefined);
  if (known.length < 2) return [];
  const sorted = [...known].sort((a, b) => a.offsetMs - b.offsetMs);
  const low = sorted[0]!;
  const high = sorted[sorted.length - 1]!;
  const drift = Math.round(high.offsetMs - low.offsetMs);
  const slack = Math.round((low.uncertaintyMs ?? 0) + (high.uncertaintyMs ?? 0));
  if (drift - slack <= maxMs) return [];
  const within = slack > 0 ? ` (± ${slack} ms)` : '';
  return [`time drift between ${low.node} and ${high.node} is ${drift} ms${within}, above the allowed ${maxMs} ms`];
}
