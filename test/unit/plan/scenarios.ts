/** Builder inputs for the expected-plan scenarios, written out in full so each reads on its own. */
import type { ImageFacts, NodeFacts, UpgradeInput } from '../../../src/plan/builder/input.js';

/** The demo application as installed in the seed walkthrough (Gravity 7.0.12 runtime). */
export const DEMO_V1: ImageFacts = {
  name: 'upgrade-demo',
  version: '1.0.0',
  runtime: 'runtime:7.0.35-11706',
  etcdVersion: '3.4.23',
  systemApps: [
    'rbac-app:7.0.12',
    'dns-app:0.4.1',
    'logging-app:6.0.5',
    'monitoring-app:7.0.2',
    'tiller-app:7.0.1',
    'site:7.0.12',
    'kubernetes:7.0.12',
  ],
  appDependencies: [],
};

/** The demo application the seed upgrades to (Gravity 7.0.30 runtime). */
export const DEMO_V2: ImageFacts = {
  name: 'upgrade-demo',
  version: '2.0.0',
  upgradeFrom: '>=1.0.0 <2.0.0',
  runtime: 'runtime:7.0.56-11709',
  etcdVersion: '3.4.23',
  systemApps: [
    'rbac-app:7.0.30',
    'dns-app:7.0.3',
    'logging-app:6.0.8',
    'monitoring-app:7.0.8',
    'tiller-app:7.0.2',
    'site:7.0.30',
    'kubernetes:7.0.30',
  ],
  appDependencies: [],
};

/** A later release: new runtime build, etcd 3.5, two system apps bumped. */
export const DEMO_V2_1: ImageFacts = {
  ...DEMO_V2,
  version: '2.1.0',
  upgradeFrom: '>=2.0.0 <2.1.0',
  runtime: 'runtime:7.0.60-11712',
  etcdVersion: '3.5.0',
  systemApps: [
    'rbac-app:7.0.30',
    'dns-app:7.0.3',
    'logging-app:6.0.8',
    'monitoring-app:7.0.8',
    'tiller-app:7.0.2',
    'site:7.0.31',
    'kubernetes:7.0.31',
  ],
};

/** 2.1.0 built with `--upgrade-via` 2.0.0: a cluster on 1.0.0 steps through 2.0.0's runtime. */
export const DEMO_V2_1_VIA_V2: ImageFacts = {
  ...DEMO_V2_1,
  upgradeVia: [{ version: '2.0.0', upgradeFrom: '>=1.0.0 <2.0.0', runtime: 'runtime:7.0.56-11709', etcdVersion: '3.4.23' }],
};

const master = (n: number): NodeFacts => ({ name: `node-${n}`, address: `127.0.0.${n + 1}`, role: 'master' });
const worker = (n: number): NodeFacts => ({ name: `node-${n}`, address: `127.0.0.${n + 1}`, role: 'worker' });

const base = (name: string): Pick<UpgradeInput, 'operationId' | 'createdAt' | 'cluster'> => ({
  operationId: `op-${name}`,
  createdAt: '2021-03-04T04:36:00.000Z',
  cluster: 'demo',
});

/** Every scenario with an expected plan under fixtures/plans/<name>.json. */
export const SCENARIOS: Record<string, UpgradeInput> = {
  'demo-3-masters': {
    ...base('demo-3-masters'),
    nodes: [master(1), master(2), master(3)],
    installed: DEMO_V1,
    target: DEMO_V2,
  },
  '1-master-2-workers': {
    ...base('1-master-2-workers'),
    nodes: [master(1), worker(2), worker(3)],
    installed: DEMO_V1,
    target: DEMO_V2,
  },
  'etcd-change': {
    ...base('etcd-change'),
    nodes: [master(1), master(2), master(3), worker(4)],
    installed: DEMO_V2,
    target: DEMO_V2_1,
    maxUnavailableWorkers: 1,
  },
  'app-only': {
    ...base('app-only'),
    nodes: [master(1), master(2), master(3), worker(4)],
    installed: { ...DEMO_V2, appDependencies: ['cache-app:1.0.0', 'queue-app:3.1.0'] },
    target: {
      ...DEMO_V2,
      version: '2.0.1',
      upgradeFrom: '~2.0.0',
      appDependencies: ['cache-app:1.0.1', 'queue-app:3.1.0', 'search-app:0.9.0'],
    },
  },
  'single-master': {
    ...base('single-master'),
    nodes: [master(1)],
    installed: DEMO_V1,
    target: DEMO_V2,
  },
  'multi-hop': {
    ...base('multi-hop'),
    nodes: [master(1), master(2), master(3), worker(4), worker(5)],
    installed: DEMO_V1,
    target: DEMO_V2_1_VIA_V2,
  },
  'node-actions': {
    ...base('node-actions'),
    nodes: [master(1), worker(2)],
    installed: DEMO_V1,
    target: {
      ...DEMO_V2,
      nodeActions: {
        preUpgrade: [{ name: 'stop-app', run: 'systemctl stop app', timeoutSeconds: 60 }],
        postUpgrade: [{ name: 'app-health', package: 'runtime:7.0.56-11709', hook: 'health' }],
      },
    },
  },
  'os-upgrade': {
    ...base('os-upgrade'),
    nodes: [1, 2, 3].map((n) => ({ ...master(n), os: '2.0.0' })).concat([4, 5].map((n) => ({ ...worker(n), os: '2.0.0' }))),
    installed: DEMO_V1,
    target: {
      ...DEMO_V1,
      version: '1.1.0',
      upgradeFrom: '>=1.0.0 <1.1.0',
      os: { package: 'sandbox-os:2.2.0', assessment: { timeoutSeconds: 60, checks: [{ name: 'release', run: 'true' }] } },
      nodeActions: { preUpgrade: [{ name: 'notify', run: 'echo going down' }], postUpgrade: [] },
    },
    maxUnavailableWorkers: 2,
  },
  'partly-upgraded': {
    ...base('partly-upgraded'),
    nodes: [master(1), master(2), { ...master(3), runtime: 'runtime:7.0.56-11709' }],
    installed: DEMO_V1,
    target: DEMO_V2,
  },
};
