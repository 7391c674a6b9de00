import { afterEach, describe, expect, it } from 'vitest';
import { HoistError } from '../../../src/errors.js';
import { rollbackPhase } from '../../../src/fsm/rollback.js';
import { completeUpgrade } from '../../../src/operation/complete.js';
import { createUpgrade } from '../../../src/operation/create.js';
import { harness } from '../../helpers/engine-harness.js';
import { group, leaf, plan } from '../../helpers/plan-dsl.js';
import { recordingRegistry } from '../../helpers/recording-executors.js';
import { TempStore } from '../../helpers/temp-store.js';

const demo = (id = 'op-1') => plan([group('/init', [leaf('/init/a'), leaf('/init/b')], { parallel: 2 }), leaf('/checks', ['/init'])], id);
const by = { host: 'h', pid: 1, user: 'root' };
// The lifecycle writes real files: a temp-dir JSON store per test, removed afterwards.
const stores: TempStore[] = [];
const newStore = async () => {
  const store = await TempStore.create();
  stores.push(store);
  return store;
};
afterEach(async () => {
  await Promise.all(stores.splice(0).map((s) => s.dispose()));
});

const code = (err: unknown) => (HoistError.isHoistError(err) ? err.code : String(err));

describe('operations › create', () => {
  it('creates operation and plan and locks the cluster as updating', async () => {
    const store = await newStore();
    const op = await createUpgrade(store, {
      lease: await store.testLease('demo'),
      plan: demo(),
      image: 'upgrade-demo',
      mode: 'manual',
      createdBy: by,
    });
    expect(op).toMatchObject({ id: 'op-1', state: 'in_progress', from: '1.0.0', to: '2.0.0', mode: 'manual' });
    expect(await store.getCluster('demo')).toMatchObject({ status: 'updating', activeOperation: 'op-1', image: { version: '1.0.0' } });
  });

  it('refuses a second upgrade while one is active, naming it', async () => {
    const store = await newStore();
    await createUpgrade(store, {
      lease: await store.testLease('demo'),
      plan: demo(),
      image: 'upgrade-demo',
      mode: 'manual',
      createdBy: by,
    });
    const err = await createUpgrade(store, {
      lease: await store.testLease('demo'),
      plan: demo('op-2'),
      image: 'upgrade-demo',
      mode: 'manual',
      createdBy: by,
    }).catch((e) => e);
    expect(code(err)).toBe('ERR_CLUSTER_NOT_ACTIVE');
    expect((err as Error).message).toBe('cluster "demo" is currently updating (operation op-1)');
    expect((err as HoistError).exitCode).toBe(4);
  });

  it('refuses a new upgrade after a forced completion of a partly applied plan, unless --force', async () => {
    const { registry } = recordingRegistry();
    const store = await newStore();
    const op = await createUpgrade(store, {
      lease: await store.testLease('demo'),
      plan: demo(),
      image: 'upgrade-demo',
      mode: 'manual',
      createdBy: by,
    });
    const h = await harness(demo(), registry, {}, store);
    await (await h.make()).execute('/init/a');
    await completeUpgrade(store, op, (await h.make()).state, { force: true, lease: await store.testLease('demo') });
    const err = await createUpgrade(store, {
      lease: await store.testLease('demo'),
      plan: demo('op-2'),
      image: 'upgrade-demo',
      mode: 'manual',
      createdBy: by,
    }).catch((e) => e);
    expect(code(err)).toBe('ERR_UPGRADE_NOT_ROLLED_BACK');
    const op2 = await createUpgrade(store, {
      lease: await store.testLease('demo'),
      plan: demo('op-2'),
      image: 'upgrade-demo',
      mode: 'manual',
      createdBy: by,
      force: true,
    });
    expect(op2.id).toBe('op-2');
  });
});

describe('operations › complete', () => {
  it('all leaves completed: operation completed, cluster active at the new version', async () => {
    const { registry } = recordingRegistry();
    const store = await newStore();
    const op = await createUpgrade(store, {
      lease: await store.testLease('demo'),
      plan: demo(),
      image: 'upgrade-demo',
      mode: 'manual',
      createdBy: by,
    });
    const h = await harness(demo(), registry, {}, store);
    await (await h.make()).resume();
    const done = await completeUpgrade(store, op, (await h.make()).state, { lease: await store.testLease('demo') });
    expect(done.operation.state).toBe('completed');
    expect(await store.getCluster('demo')).toMatchObject({ status: 'active', image: { version: '2.0.0' }, lastOperation: 'op-1' });
    expect((await store.getCluster('demo'))!.activeOperation).toBeUndefined();
  });

  it('nothing applied (all unstarted or rolled back): operation failed, cluster active at the old version', async () => {
    const { registry } = recordingRegistry();
    const store = await newStore();
    const op = await createUpgrade(store, {
      lease: await store.testLease('demo'),
      plan: demo(),
      image: 'upgrade-demo',
      mode: 'manual',
      createdBy: by,
    });
    const h = await harness(demo(), registry, {}, store);
    await (await h.make()).execute('/init/a');
    await rollbackPhase(await h.make(), '/init/a');
    const done = await completeUpgrade(store, op, (await h.make()).state, { lease: await store.testLease('demo') });
    expect(done.operation).toMatchObject({ state: 'failed', reason: 'completed manually' });
    expect(await store.getCluster('demo')).toMatchObject({ status: 'active', image: { version: '1.0.0' } });
  });

  it('refuses a half-done plan without --force and leaves everything as it was', async () => {
    const { registry } = recordingRegistry();
    const store = await newStore();
    const op = await createUpgrade(store, {
      lease: await store.testLease('demo'),
      plan: demo(),
      image: 'upgrade-demo',
      mode: 'manual',
      createdBy: by,
    });
    const h = await harness(demo(), registry, {}, store);
    await (await h.make()).execute('/init/a');
    const err = await completeUpgrade(store, op, (await h.make()).state, { lease: await store.testLease('demo') }).catch((e) => e);
    expect(code(err)).toBe('ERR_PLAN_PARTLY_APPLIED');
    expect((err as Error).message).toBe('operation op-1 is partly applied: 1 of 3 phases completed, 0 failed, 0 in progress');
    expect((await store.getOperation('demo', 'op-1')).state).toBe('in_progress');
    expect((await store.getCluster('demo'))!.status).toBe('updating');
    const forced = await completeUpgrade(store, op, (await h.make()).state, { force: true, lease: await store.testLease('demo') });
    expect(forced.forced).toBe(true);
    expect(forced.operation.state).toBe('failed');
    expect(await store.getCluster('demo')).toMatchObject({ status: 'active', image: { version: '1.0.0' } });
  });

  it('refuses to complete an operation twice', async () => {
    const { registry } = recordingRegistry();
    const store = await newStore();
    const op = await createUpgrade(store, {
      lease: await store.testLease('demo'),
      plan: demo(),
      image: 'upgrade-demo',
      mode: 'manual',
      createdBy: by,
    });
    const h = await harness(demo(), registry, {}, store);
    const done = await completeUpgrade(store, op, (await h.make()).state, { lease: await store.testLease('demo') });
    expect(
      code(await completeUpgrade(store, done.operation, (await h.make()).state, { lease: await store.testLease('demo') }).catch((e) => e)),
    ).toBe('ERR_OPERATION_FINISHED');
  });
});
