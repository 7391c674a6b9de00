/**
 * Test (e) of the ownership work: a real `bin/hoist` killed (SIGKILL, through the
 * HOIST_TEST_CRASH_AT hook) between the two record writes of creating and of completing an
 * operation; the next command repairs the records and says so. Offline (--state), so no node.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { beforeEach, describe, expect, it } from 'vitest';
import type { CrashPoint } from '../../../src/operation/crash-point.js';
import { JsonStore } from '../../../src/store/json-store.js';

const STATE = 'fixtures/clusters/demo-3-masters/state.yaml';
const V2 = 'fixtures/images/upgrade-demo-2.0.0';
const CLUSTER = 'upgrade-demo';
let stateDir: string;
let store: JsonStore;
beforeEach(() => {
  stateDir = mkdtempSync(join(tmpdir(), 'hoist-crash-'));
  store = new JsonStore(stateDir);
  return () => store.close();
});

const hoist = (args: string[], crashAt?: CrashPoint) =>
  execa('./bin/hoist', [...args, '--state', STATE], {
    env: { HOIST_STATE_DIR: stateDir, ...(crashAt ? { HOIST_TEST_CRASH_AT: crashAt } : {}) },
    reject: false,
  });

/** The only operation's id. */
const onlyOperation = async () => {
  const ops = await store.listOperations(CLUSTER);
  expect(ops).toHaveLength(1);
  return ops[0]!;
};

describe('operation › crash between record writes', { timeout: 300_000 }, () => {
  it('create, first operation of the cluster: the next upgrade repairs, refuses naming the operation, and it completes', async () => {
    const crashed = await hoist(['upgrade', '--manual', V2], 'create:operation-written');
    expect(crashed.signal).toBe('SIGKILL');
    const op = await onlyOperation();
    expect(op.state).toBe('in_progress');
    expect(await store.getCluster(CLUSTER)).toBeUndefined();

    const status = await hoist(['status', '-o', 'json']);
    expect(status.exitCode).toBe(0);
    expect(JSON.parse(status.stdout)).toMatchObject({ status: 'updating' });
    expect(status.stderr).toContain('Records disagree');

    const again = await hoist(['upgrade', '--manual', V2]);
    expect(again.exitCode).toBe(4);
    expect(again.stderr).toContain(`Repaired the records: operation ${op.id} is in progress but the cluster record is missing`);
    expect(again.stderr).toContain(`error[ERR_CLUSTER_NOT_ACTIVE]: cluster "${CLUSTER}" is currently updating (operation ${op.id})`);
    expect(await store.getCluster(CLUSTER)).toMatchObject({ status: 'updating', activeOperation: op.id });

    const done = await hoist(['plan', 'complete']);
    expect(done.exitCode).toBe(0);
    expect(done.stdout).toBe(`Operation ${op.id} marked failed; cluster ${CLUSTER} is active at 1.0.0.`);
  });

  it('create, with an earlier operation on record: plan commands find the new operation and repair the cluster record', async () => {
    expect((await hoist(['upgrade', '--manual', V2])).exitCode).toBe(0);
    expect((await hoist(['plan', 'complete'])).exitCode).toBe(0);
    const crashed = await hoist(['upgrade', '--manual', V2], 'create:operation-written');
    expect(crashed.signal).toBe('SIGKILL');
    const [second] = await store.listOperations(CLUSTER);
    expect(second!.state).toBe('in_progress');
    expect(await store.getCluster(CLUSTER)).toMatchObject({ status: 'active' });

    const plan = await hoist(['plan', '-o', 'json']);
    expect(plan.exitCode).toBe(0);
    expect(JSON.parse(plan.stdout)).toMatchObject({ operation: { id: second!.id } });

    const done = await hoist(['plan', 'complete']);
    expect(done.exitCode).toBe(0);
    expect(done.stderr).toContain('Repaired the records: operation');
    expect(done.stdout).toBe(`Operation ${second!.id} marked failed; cluster ${CLUSTER} is active at 1.0.0.`);
    expect(await store.getCluster(CLUSTER)).toMatchObject({ status: 'active', lastOperation: second!.id });
  });

  it('complete: plan complete run again repairs the cluster record and says so', async () => {
    expect((await hoist(['upgrade', '--manual', V2])).exitCode).toBe(0);
    const op = await onlyOperation();
    const crashed = await hoist(['plan', 'complete'], 'complete:operation-written');
    expect(crashed.signal).toBe('SIGKILL');
    expect((await store.getOperation(CLUSTER, op.id)).state).toBe('failed');
    expect(await store.getCluster(CLUSTER)).toMatchObject({ status: 'updating', activeOperation: op.id });

    const status = await hoist(['status', '-o', 'json']);
    expect(JSON.parse(status.stdout)).toMatchObject({ status: 'active' });

    const again = await hoist(['plan', 'complete', '-o', 'json']);
    expect(again.exitCode).toBe(0);
    expect(again.stderr).toContain(
      `Repaired the records: the cluster record says updating (operation ${op.id}) but that operation is failed: the cluster is marked active at 1.0.0.`,
    );
    expect(JSON.parse(again.stdout)).toMatchObject({ operation: op.id, state: 'failed', status: 'active', repaired: [expect.any(String)] });
    expect(await store.getCluster(CLUSTER)).toMatchObject({ status: 'active', lastOperation: op.id });
    expect((await store.getCluster(CLUSTER))!.activeOperation).toBeUndefined();
    // Repaired once: a third run has nothing to close.
    const third = await hoist(['plan', 'complete']);
    expect(third.exitCode).toBe(4);
    expect(third.stderr).toContain('ERR_NO_ACTIVE_OPERATION');
  });

  it('complete during a whole rollback: the next upgrade repairs the records and goes ahead', async () => {
    expect((await hoist(['upgrade', '--manual', V2])).exitCode).toBe(0);
    const first = await onlyOperation();
    const crashed = await hoist(['rollback', '--confirm'], 'complete:operation-written');
    expect(crashed.signal).toBe('SIGKILL');
    expect((await store.getOperation(CLUSTER, first.id)).reason).toBe('rolled back');

    const next = await hoist(['upgrade', '--manual', V2]);
    expect(next.exitCode).toBe(0);
    expect(next.stderr).toContain(`Repaired the records: the cluster record says updating (operation ${first.id})`);
    const [second] = await store.listOperations(CLUSTER);
    expect(second!.id).not.toBe(first.id);
    expect(await store.getCluster(CLUSTER)).toMatchObject({ status: 'updating', activeOperation: second!.id });
  });
});
