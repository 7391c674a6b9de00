/** A real etcd cluster for store tests, on the test file's loopback addresses, stopped after the file. */

import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { type StoreEtcdMember, startStoreEtcd, stopStoreEtcd } from '../../src/sandbox/store-etcd.js';
import type { EtcdStoreOptions } from '../../src/store/etcd-client.js';
import { EtcdStore } from '../../src/store/etcd-store.js';
import type { StoreBackend } from './store-conformance.js';

/** Members named s1… on `base`.1, `base`.2, … (e.g. base "127.0.110"). */
export function membersOn(base: string, count: number): StoreEtcdMember[] {
  return Array.from({ length: count }, (_, i) => ({ name: `s${i + 1}`, address: `${base}.${i + 1}` }));
}

/** A running store etcd and a scratch dir; `stop` kills its members and removes the dir. */
export async function startTestEtcd(
  base: string,
  count: number,
): Promise<{ dir: string; members: StoreEtcdMember[]; endpoints: string[]; stop(): Promise<void> }> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'hoist-store-etcd-'));
  const members = membersOn(base, count);
  try {
    const endpoints = await startStoreEtcd(dir, members);
    return {
      dir,
      members,
      endpoints,
      stop: async () => {
        await stopStoreEtcd(dir, members);
        await rm(dir, { recursive: true, force: true });
      },
    };
  } catch (err) {
    await stopStoreEtcd(dir, members);
    throw err;
  }
}

/** The etcd backend of the conformance suite: each test gets its own key prefix. */
export function etcdBackend(endpoints: () => string[], stateDir: () => string, extra: EtcdStoreOptions = {}): StoreBackend {
  let prefix = '';
  return {
    name: 'etcd',
    fresh: async () => {
      prefix = `/t-${randomBytes(6).toString('hex')}/`;
    },
    open: (options) => new EtcdStore({ endpoints: endpoints(), prefix }, stateDir(), { ...extra, ...options }),
    clear: async () => undefined,
  };
}
