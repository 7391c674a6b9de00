import { defineConfig } from 'vitest/config';

/**
 * Integration files that go deeper than `npm test` has time for on two cores: `npm run test:long`.
 * What they check has its slice in `npm test`: Ctrl-C mid-phase in the ownership suite and kill -9
 * in the kill-points slice; every node-side phase runs in the walkthrough and its rollbacks in the
 * rollback and broken-runtime suites; re-attaching to a running execution in cluster/reattach; a
 * lease taken over from an owner that slept past it in the store's fencing tests, and the etcd
 * store's fencing, quorum loss and watch in store/etcd-store; a crash between two record writes in
 * operation/crash-records and an image pinned at creation in kube-side/hook-failure; drains held by a budget in the walkthrough (node-3) and the
 * ownership suite; the etcd block's plans in the unit tests and its members in runtime/runtime-etcd.
 */
const LONG = [
  'test/integration/interrupt/interrupt.test.ts',
  'test/integration/node-side/phases.test.ts',
  'test/integration/node-side/done-when.test.ts',
  'test/integration/ownership/resume-reattach.test.ts',
  'test/integration/store/two-operators.test.ts',
  'test/integration/kube-side/drain-budget.test.ts',
  'test/integration/node-side/etcd.test.ts',
  'test/integration/lease/takeover.test.ts',
  'test/integration/operation/resume-finishes.test.ts',
];

export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: ['test/unit/**/*.test.ts'],
          environment: 'node',
          // Some unit tests start bin/hoist or the agent bundle; the bound only has to catch a hang,
          // and two cores busy with other test files can make a start take seconds.
          testTimeout: 30_000,
        },
      },
      {
        test: {
          name: 'integration',
          include: ['test/integration/**/*.test.ts'],
          // Whole upgrades of each upgrade kind take minutes each: `npm run test:upgrade-kinds`.
          exclude: ['test/integration/upgrade-kinds/**', ...LONG],
          environment: 'node',
          // Real sshd and etcd processes are shared per file; running files one at a time keeps
          // loopback addresses and ports from colliding.
          fileParallelism: false,
          testTimeout: 120_000,
          hookTimeout: 180_000,
        },
      },
      {
        test: {
          name: 'long',
          include: LONG,
          environment: 'node',
          fileParallelism: false,
          testTimeout: 300_000,
          hookTimeout: 180_000,
        },
      },
      {
        test: {
          name: 'upgrade-kinds',
          include: ['test/integration/upgrade-kinds/**/*.test.ts'],
          environment: 'node',
          fileParallelism: false,
          testTimeout: 900_000,
          hookTimeout: 180_000,
        },
      },
    ],
  },
});
