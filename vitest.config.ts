import { defineConfig } from 'vitest/config';

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
          exclude: ['test/integration/upgrade-kinds/**'],
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
