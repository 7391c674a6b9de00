/**
 * The operation outlives the operator's machine: with `sandbox up --store etcd`, operator A's
 * upgrade is killed -9 mid-masters; operator B (another state directory, same inventory and so
 * the same etcd store) sees the operation in `plan` and `status`, follows it with `plan --tail`,
 * and `plan resume` takes the lease over. That resume loses the leader of the store's three members and
 * goes on, then loses quorum and stops naming the store; once quorum is back, `plan resume`
 * finishes, and the status history of both machines tells the whole story. Real sandbox on
 * 127.0.111.x.
 */
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sandboxStoreMembers, startStoreEtcdMember, stopStoreEtcdMember, waitStoreEtcdHealthy } from '../../../src/sandbox/store-etcd.js';
import { EtcdStore } from '../../../src/store/etcd-store.js';
import { leaderIndex } from '../../helpers/store-etcd.js';
import { expectExit, HOIST, hoistIn, IMAGE_2, type Sandbox, sandboxUp } from '../kube-side/helpers.js';
import { until } from '../ownership/helpers.js';

describe('etcd store › a second operator takes over', { timeout: 900_000 }, () => {
  let sb: Sandbox;
  let other: string;

  beforeAll(async () => {
    sb = await sandboxUp({ firstAddress: '127.0.111.2', store: 'etcd' });
    other = await fs.mkdtemp(path.join(os.tmpdir(), 'hoist-operator-b-'));
  }, 600_000);

  afterAll(async () => {
    await sb?.down();
    if (other) await fs.rm(other, { recursive: true, force: true });
  }, 120_000);

  it('writes spec.store into cluster.yaml, pointing at an etcd of its own', async () => {
    const yaml = await fs.readFile(sb.clusterFile, 'utf8');
    expect(yaml).toMatch(/store:\s+etcd:\s+endpoints:\s+- 127\.0\.111\.102:2379\s+- 127\.0\.111\.103:2379\s+- 127\.0\.111\.104:2379/);
  });

  it("B follows A's run, sees it after A is killed -9 mid-masters, and finishes it with plan resume through the store's faults", async () => {
    const env = { HOIST_LEASE_TTL_MS: '3000' };
    const a = execa(HOIST, ['-c', sb.clusterFile, 'upgrade', IMAGE_2], { env: { ...env, HOIST_STATE_DIR: sb.stateDir }, reject: false });
    let aErr = '';
    a.stderr?.on('data', (c: Buffer) => (aErr += c.toString()));
    // B's tail starts once the operation exists, from B's own state directory.
    await until(
      async () => (await hoistIn(other, ['-c', sb.clusterFile, 'status'])).stdout.includes('Active operations'),
      "the operation in B's status",
      () => aErr,
    );
    const tail = execa(HOIST, ['-c', sb.clusterFile, 'plan', '--tail'], { env: { ...env, HOIST_STATE_DIR: other }, reject: false });
    let tailOut = '';
    tail.stdout?.on('data', (c: Buffer) => (tailOut += c.toString()));
    await until(
      () => aErr.includes('"/masters/node-1/'),
      'A in /masters',
      () => aErr,
    );
    await until(
      () => tailOut.includes('Phase /checks is completed'),
      "B's tail showing A's progress",
      () => tailOut,
    );
    a.kill('SIGKILL');
    await a;

    // The tail ends: the writer is gone (its lease expired in etcd), nothing more will come.
    const tailRun = await tail;
    expect(tailRun.exitCode, tailRun.stderr).toBe(4);
    expect(tailRun.stderr).toContain('ERR_LOCK_EXPIRED');

    const plan = await hoistIn(other, ['-c', sb.clusterFile, 'plan', '-o', 'json']);
    expectExit(plan, 0, "B's hoist plan");
    const doc = JSON.parse(plan.stdout) as { operation: { id: string; state: string } };
    expect(doc.operation.state).toBe('in_progress');
    const status = await hoistIn(other, ['-c', sb.clusterFile, 'status']);
    expectExit(status, 0, "B's hoist status");
    expect(status.stdout).toContain(doc.operation.id);

    // B's resume: the store's leader is killed -9 once it runs, and the run goes on unnoticed.
    const members = sandboxStoreMembers('127.0.111.2');
    const storeDir = path.join(sb.dir, 'store-etcd');
    const endpoints = members.map((m) => `http://${m.address}:2379`).join(', ');
    // B's lease has the default TTL, as in production: an election after a member's loss fits in it.
    const b = execa(HOIST, ['-c', sb.clusterFile, 'plan', 'resume'], { env: { HOIST_STATE_DIR: other }, reject: false });
    let bErr = '';
    let bOut = '';
    b.stderr?.on('data', (c: Buffer) => (bErr += c.toString()));
    b.stdout?.on('data', (c: Buffer) => (bOut += c.toString()));
    const started = () => bErr.split('\n').filter((l) => l.startsWith('Executing "')).length;
    await until(
      () => started() >= 1,
      "B's resume running a phase",
      () => bErr,
    );
    const beforeLoss = bErr.length;
    // The leader: B's appends go to it, and its loss means an election.
    const lost = await leaderIndex(members.map((m) => `${m.address}:2379`));
    await stopStoreEtcdMember(storeDir, members[lost]!, true);
    const atLoss = started();
    await until(
      () => started() >= atLoss + 2,
      'two more phases of B started after a member was lost',
      () => bErr,
    );
    // While quorum holds, the lost member is invisible to the user: progress lines only, no
    // warning, error, retry or word of the store on either stream.
    const whileOneLost = bErr.slice(beforeLoss);
    const noisy = /warn|error|fail|unavailable|did not answer|retry|lost|refused|\bERR_|grpc|etcd|127\.0\.111\.10[234]/i;
    expect(
      whileOneLost.split('\n').filter((l) => noisy.test(l)),
      whileOneLost,
    ).toEqual([]);
    expect(
      bOut.split('\n').filter((l) => noisy.test(l)),
      bOut,
    ).toEqual([]);
    // Quorum lost: B stops, naming the store; nothing it recorded is lost.
    await stopStoreEtcdMember(storeDir, members[(lost + 1) % 3]!, true);
    const stopped = await b;
    expect(stopped.exitCode, stopped.stderr).toBe(5);
    expect(stopped.stderr).toContain('error[ERR_STORE_UNAVAILABLE]');
    expect(stopped.stderr).toContain(endpoints);
    expect(stopped.stderr).not.toContain('ERR_UNEXPECTED');
    for (const m of members) await startStoreEtcdMember(storeDir, members, m);
    await waitStoreEtcdHealthy(
      members.map((m) => `${m.address}:2379`),
      60_000,
    );
    const kept = JSON.parse((await hoistIn(other, ['-c', sb.clusterFile, 'plan', '-o', 'json'])).stdout) as {
      operation: { state: string };
      phases: { id: string; state: string }[];
    };
    expect(kept.operation.state).toBe('in_progress');
    // Nothing lost across the member's loss and quorum's: one change per seq, 1..n with no gap,
    // and every phase B's own log says it completed is recorded as completed.
    const reader = new EtcdStore({ endpoints: members.map((m) => `${m.address}:2379`) }, other);
    try {
      const changes = await reader.readChanges('upgrade-demo', doc.operation.id);
      expect(changes.map((c) => c.seq)).toEqual(changes.map((_, i) => i + 1));
      const log = await fs.readFile(path.join(other, 'clusters', 'upgrade-demo', 'operations', doc.operation.id, 'log.ndjson'), 'utf8');
      const completedByB = log
        .split('\n')
        .filter((l) => l.includes('"phase.complete"'))
        .map((l) => (JSON.parse(l) as { phase: string }).phase);
      expect(completedByB.length).toBeGreaterThanOrEqual(2);
      const completed = new Set(changes.filter((c) => c.state === 'completed').map((c) => c.phase));
      expect(completedByB.filter((id) => !completed.has(id))).toEqual([]);
    } finally {
      await reader.close();
    }

    const resume = await execa(HOIST, ['-c', sb.clusterFile, 'plan', 'resume'], { env: { HOIST_STATE_DIR: other }, reject: false });
    expect(resume.exitCode, resume.stderr).toBe(0);
    expect(resume.stdout + resume.stderr).toContain('completed; cluster upgrade-demo is active at 2.0.0');
    const after = await hoistIn(other, ['-c', sb.clusterFile, 'plan']);
    expect(after.stdout).toMatch(/Ownership: taken over from pid \d+ .*"hoist plan resume".* by pid \d+ .*"hoist plan resume"/);
    // The important events are in the store: A's machine reads what B did, and B what A did.
    const history = await sb.hoist(['status', 'history']);
    expectExit(history, 0, "A's status history");
    const titles = history.stdout
      .split('\n')
      .map((l) => /\[([^\]]+)\].*by=(hoist (?:upgrade|plan resume))/.exec(l)?.slice(1, 3).join(' by '));
    const order = [
      'Operation Started by hoist upgrade',
      'Lease Taken Over by hoist plan resume',
      'Operation Completed by hoist plan resume',
    ];
    expect(titles.filter((t) => t && order.includes(t))).toEqual([order[0], order[1], order[1], order[2]]);
    expect((await hoistIn(other, ['-c', sb.clusterFile, 'status', 'history'])).stdout).toBe(history.stdout);
    // A's own state directory reads the same store: it sees the finished operation too.
    const mine = await sb.hoist(['status']);
    expect(mine.stdout).toMatch(/version 2\.0\.0/);
    // Nothing of the operation is in either state directory's JSON store.
    await expect(
      fs.access(path.join(other, 'clusters', 'upgrade-demo', 'operations', doc.operation.id, 'changelog.ndjson')),
    ).rejects.toThrow();
  });

  it('says ERR_STORE_UNAVAILABLE (exit 5) naming the endpoints when --store points where no etcd runs', async () => {
    const r = await hoistIn(other, ['-c', sb.clusterFile, '--store', 'etcd://127.0.111.150:2379', 'plan']);
    expect(r.exitCode, r.stderr).toBe(5);
    expect(r.stderr).toContain('ERR_STORE_UNAVAILABLE');
    expect(r.stderr).toContain('http://127.0.111.150:2379');
  });
});
