/**
 * kill -9 of hoist at random points of an automatic 3-master upgrade, each kill followed by
 * `plan resume` (itself killed at the next point): the operation completes, every runtime hook
 * ran exactly once per node and phase (the hooks' own log lines), and the changelog stays
 * strictly increasing with no phase touched after it completed.
 * A kill point is "once the changelog has N lines". HOIST_FAULTS_POINTS sets how many (1 in
 * `npm test`, 20 in `npm run test:faults`), HOIST_FAULTS_SEED replays a run (the seed is printed).
 * Real sandbox on 127.0.76.x; the sandbox's budget frees itself, so drains end on their own.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectExit, leaves, type Sandbox, sandboxUp } from '../kube-side/helpers.js';
import { type Change, changelog, countingImage, hoistBackground, hookRuns, type SandboxNode, sandboxNodes, until } from './helpers.js';

const POINTS = Number(process.env.HOIST_FAULTS_POINTS ?? 1);
const SEED = Number(process.env.HOIST_FAULTS_SEED ?? Math.floor(Math.random() * 2 ** 31));

/** mulberry32: a small seeded generator, so that a printed seed replays the same kill points. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}

/** `count` distinct changelog line numbers in [1, total), ascending. */
function killPoints(count: number, total: number, next: () => number): number[] {
  const picked = new Set<number>();
  while (picked.size < Math.min(count, total - 1)) picked.add(1 + Math.floor(next() * (total - 1)));
  return [...picked].sort((a, b) => a - b);
}

describe('ownership › kill -9 at random points, then resume', { timeout: 3_600_000 }, () => {
  let sb: Sandbox;
  let nodes: SandboxNode[];
  let image: string;

  beforeAll(async () => {
    sb = await sandboxUp({ firstAddress: '127.0.76.2' });
    nodes = await sandboxNodes(sb);
    image = await countingImage(sb);
  }, 300_000);

  afterAll(async () => {
    await sb?.down();
  }, 120_000);

  const lines = async (operation: string | undefined): Promise<number> =>
    operation ? (await changelog(sb, operation).catch(() => [] as Change[])).length : 0;

  it(`${POINTS} kill points: the upgrade completes, each hook ran once, the changelog is sound`, async () => {
    console.log(`kill points: HOIST_FAULTS_SEED=${SEED} HOIST_FAULTS_POINTS=${POINTS}`);
    const next = random(SEED);
    let operation: string | undefined;
    let points: number[] | undefined;
    let args = ['upgrade', image];
    const killed: string[] = [];
    for (let i = 0; ; i++) {
      const run = hoistBackground(sb, args);
      let exited = false;
      void run.child.then(() => (exited = true));
      const target = async (): Promise<number | undefined> => {
        if (!points) {
          const plan = await sb.plan().catch(() => undefined);
          if (!plan) return undefined;
          operation = plan.operation.id;
          // About two lines per leaf phase (in progress, completed): spread the kills over that.
          const leafCount = leaves(plan.phases).length;
          points = killPoints(POINTS, 2 * leafCount, next);
          console.log(`kill after changelog lines ${points.join(', ')} (of ~${2 * leafCount})`);
        }
        return points[i];
      };
      await until(
        async () => {
          if (exited) return true;
          const at = await target();
          return at !== undefined && (await lines(operation)) >= at;
        },
        `kill point ${i + 1}`,
        run.stderr,
        1_200_000,
      );
      const at = points?.[i];
      if (exited || at === undefined) {
        const r = await run.child;
        expectExit({ exitCode: r.exitCode ?? -1, stdout: String(r.stdout), stderr: run.stderr() }, 0, `hoist ${args.join(' ')}`);
        break;
      }
      run.child.kill('SIGKILL');
      await run.child;
      killed.push(`${args[0]} ${args[1] ?? ''} at line ${await lines(operation)} (point ${at})`);
      args = ['plan', 'resume'];
    }
    console.log(`killed: ${killed.join('; ') || 'none'}`);

    if ((await sb.plan()).operation.state === 'in_progress') expectExit(await sb.hoist(['plan', 'complete']), 0, 'hoist plan complete');
    expect(JSON.parse((await sb.hoist(['status', '-o', 'json'])).stdout)).toMatchObject({ status: 'active', installedVersion: '2.0.0' });
    expect(leaves((await sb.plan()).phases).filter((p) => p.state !== 'completed')).toEqual([]);

    // Strictly increasing (checked by changelog()), and a phase is never touched once completed.
    const changes = await changelog(sb, operation!);
    const done = new Set<string>();
    const touchedAfterDone = changes.filter((c) => {
      const again = done.has(c.phase);
      if (c.state === 'completed') done.add(c.phase);
      return again;
    });
    expect(touchedAfterDone, `seed ${SEED}`).toEqual([]);

    // Every hook ran exactly once per node and phase, by the hooks' own log.
    for (const n of nodes) {
      const runs = await hookRuns(n);
      expect(runs.length, `${n.name} ran hooks of the new runtime`).toBeGreaterThan(0);
      const counts = new Map<string, number>();
      for (const line of runs) {
        const key = line.split(' ').slice(0, 2).join(' ');
        counts.set(key, (counts.get(key) ?? 0) + 1);
      }
      expect(
        [...counts].filter(([, c]) => c !== 1),
        `seed ${SEED}, ${n.name}: ${runs.join('\n')}`,
      ).toEqual([]);
    }
  });
});
