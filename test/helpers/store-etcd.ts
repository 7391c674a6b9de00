/** A real etcd cluster for store tests, on the test file's loopback addresses, stopped after the file. */

import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { loadEtcd3 } from '../../src/etcd3-client.js';
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

/** Certificates of a test CA (and of a second CA that signed nothing etcd knows) for `address`. */
export async function makeCertificates(dir: string, address: string): Promise<void> {
  const ssl = (...args: string[]) => execa('openssl', args, { cwd: dir });
  const selfSigned = (name: string) =>
    ssl(
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-keyout',
      `${name}-key.pem`,
      '-out',
      `${name}.pem`,
      '-days',
      '2',
      '-subj',
      `/CN=${name}`,
    );
  const signed = async (name: string, ext: string) => {
    await ssl('req', '-newkey', 'rsa:2048', '-nodes', '-keyout', `${name}-key.pem`, '-out', `${name}.csr`, '-subj', `/CN=${name}`);
    await writeFile(path.join(dir, `${name}.ext`), ext);
    await ssl(
      'x509',
      '-req',
      '-in',
      `${name}.csr`,
      '-CA',
      'ca.pem',
      '-CAkey',
      'ca-key.pem',
      '-CAcreateserial',
      '-out',
      `${name}.pem`,
      '-days',
      '2',
      '-extfile',
      `${name}.ext`,
    );
  };
  await selfSigned('ca');
  await selfSigned('other-ca');
  await signed('server', `subjectAltName=IP:${address}\nextendedKeyUsage=serverAuth\n`);
  await signed('client', 'extendedKeyUsage=clientAuth\n');
}

/**
 * One etcd member serving clients over TLS only, requiring a client certificate signed by the CA
 * of `makeCertificates`; `stop` kills it.
 */
export async function startTlsEtcd(dir: string, address: string): Promise<{ endpoint: string; stop(): Promise<void> }> {
  const child = execa(
    'etcd',
    [
      '--name=tls1',
      `--data-dir=${path.join(dir, 'data')}`,
      `--listen-client-urls=https://${address}:2379`,
      `--advertise-client-urls=https://${address}:2379`,
      `--listen-peer-urls=http://${address}:2380`,
      `--initial-advertise-peer-urls=http://${address}:2380`,
      `--initial-cluster=tls1=http://${address}:2380`,
      `--cert-file=${path.join(dir, 'server.pem')}`,
      `--key-file=${path.join(dir, 'server-key.pem')}`,
      `--trusted-ca-file=${path.join(dir, 'ca.pem')}`,
      '--client-cert-auth',
    ],
    { reject: false, stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let log = '';
  child.stderr?.on('data', (c: Buffer) => (log += c.toString()));
  const store = new EtcdStore(
    {
      endpoints: [`${address}:2379`],
      tls: { ca: path.join(dir, 'ca.pem'), cert: path.join(dir, 'client.pem'), key: path.join(dir, 'client-key.pem') },
    },
    dir,
    { callTimeoutMs: 1_000 },
  );
  try {
    for (let i = 0; ; i++) {
      try {
        await store.listClusters();
        break;
      } catch (err) {
        if (i > 60 || child.exitCode !== null)
          throw new Error(`the TLS etcd did not start: ${(err as Error).message}\n${log.slice(-2000)}`);
        await new Promise((r) => setTimeout(r, 250));
      }
    }
  } catch (err) {
    child.kill('SIGKILL');
    await child;
    throw err;
  } finally {
    await store.close();
  }
  return {
    endpoint: `${address}:2379`,
    stop: async () => {
      child.kill('SIGKILL');
      await child;
    },
  };
}

/** Index in `endpoints` (host:port) of the member that leads the cluster now. */
export async function leaderIndex(endpoints: string[]): Promise<number> {
  const clients = endpoints.map((e) => new (loadEtcd3())({ hosts: [`http://${e}`] }));
  try {
    const statuses = await Promise.all(clients.map((c) => c.maintenance.status({ deadline: Date.now() + 5_000 }).catch(() => undefined)));
    const at = statuses.findIndex((s) => s !== undefined && s.header.member_id === s.leader);
    if (at < 0) throw new Error(`no member of ${endpoints.join(', ')} says it leads`);
    return at;
  } finally {
    for (const c of clients) c.close();
  }
}
