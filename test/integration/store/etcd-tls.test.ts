/**
 * The etcd store over client TLS (a real etcd requiring client certificates, 127.0.170.x, with a
 * CA made by openssl here): the inventory's spec.store.etcd.tls works from the CLI, a wrong CA or
 * a missing client certificate is one clear error naming the endpoint, and `operation list
 * --all-clusters` shows every cluster's operations in the store.
 */
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EtcdStore } from '../../../src/store/etcd-store.js';
import { JsonStore } from '../../../src/store/json-store.js';
import { makeCertificates, startTlsEtcd } from '../../helpers/store-etcd.js';
import { operation, plan } from '../../unit/store/fixtures.js';
import { HOIST } from '../kube-side/helpers.js';

const ADDRESS = '127.0.170.1';

describe('etcd store over TLS', { timeout: 300_000 }, () => {
  let work: string;
  let etcd: Awaited<ReturnType<typeof startTlsEtcd>>;

  /** An inventory of cluster `name` whose store is the TLS etcd, with `tls` as given. */
  const inventory = async (file: string, name: string, tls: string) => {
    const at = path.join(work, file);
    await writeFile(
      at,
      `apiVersion: hoist/v1\nkind: Cluster\nmetadata: {name: ${name}}\nspec:\n  nodes:\n    - {name: node-1, address: 127.0.170.50, role: master}\n` +
        `  store:\n    etcd:\n      endpoints: [${ADDRESS}:2379]\n      prefix: /team/\n      tls: ${tls}\n`,
    );
    return at;
  };
  const hoist = (stateDir: string, args: string[]) => execa(HOIST, args, { env: { HOIST_STATE_DIR: stateDir }, reject: false });

  beforeAll(async () => {
    work = await mkdtemp(path.join(os.tmpdir(), 'hoist-etcd-tls-'));
    await makeCertificates(work, ADDRESS);
    etcd = await startTlsEtcd(work, ADDRESS);
  }, 120_000);
  afterAll(async () => {
    await etcd?.stop();
    if (work) await rm(work, { recursive: true, force: true });
  });

  it('keeps operations in an etcd that requires client certificates, and lists every cluster of the store', async () => {
    const good = await inventory('demo.yaml', 'demo', '{ca: ca.pem, cert: client.pem, key: client-key.pem}');
    // Operator A's operations, moved from its state directory into the TLS store.
    const a = await mkdtemp(path.join(work, 'a-'));
    const json = new JsonStore(a);
    const lease = await json.lock('demo', { host: 'h', pid: process.pid, command: 'seed' });
    await json.createOperation({ ...operation('op-1'), state: 'completed' }, plan('op-1'), lease);
    await lease.release();
    await json.close();
    const copy = await hoist(a, ['-c', good, 'store', 'copy', '--from', 'json', '--to', `etcd://${ADDRESS}:2379`]);
    expect(copy.exitCode, copy.stderr).toBe(0);
    expect(copy.stdout).toContain(`to the etcd store at https://${ADDRESS}:2379`);
    // Node's IP-as-servername deprecation is not the user's business.
    expect(copy.stderr).toBe('');

    // Another cluster of the same team, written by the library with the same certificates.
    const store = new EtcdStore(
      {
        endpoints: [`${ADDRESS}:2379`],
        prefix: '/team/',
        tls: { ca: path.join(work, 'ca.pem'), cert: path.join(work, 'client.pem'), key: path.join(work, 'client-key.pem') },
      },
      work,
    );
    try {
      const l = await store.lock('web', { host: 'h', pid: process.pid, command: 'seed' });
      await store.createOperation(
        { ...operation('web-op', '2024-05-03T10:00:00.000Z'), cluster: 'web' },
        { ...plan('web-op'), cluster: 'web' },
        l,
      );
      await l.release();
    } finally {
      await store.close();
    }

    // Operator B, another state directory: sees the cluster's operation, and with --all-clusters both.
    const b = await mkdtemp(path.join(work, 'b-'));
    const mine = await hoist(b, ['-c', good, 'operation', 'list']);
    expect(mine.exitCode, mine.stderr).toBe(0);
    expect(mine.stdout).toContain('op-1');
    expect(mine.stdout).not.toContain('web-op');
    const all = await hoist(b, ['-c', good, 'operation', 'list', '--all-clusters']);
    expect(all.exitCode, all.stderr).toBe(0);
    const lines = all.stdout.trim().split('\n');
    expect(lines[0]).toMatch(/^ID\s+Cluster\s+Type\s+Versions\s+State/);
    expect(lines.slice(1).map((l) => l.split(/\s+/).slice(0, 2))).toEqual([
      ['web-op', 'web'],
      ['op-1', 'demo'],
    ]);
    const doc = JSON.parse((await hoist(b, ['-c', good, 'operation', 'list', '--all-clusters', '-o', 'json'])).stdout) as {
      operations: { id: string; cluster: string }[];
    };
    expect(doc.operations.map((o) => `${o.cluster}/${o.id}`)).toEqual(['web/web-op', 'demo/op-1']);
  });

  it('names the endpoint and the CA when etcd was signed by another CA, changing nothing (exit 5)', async () => {
    const wrong = await inventory('wrong-ca.yaml', 'demo', '{ca: other-ca.pem, cert: client.pem, key: client-key.pem}');
    const dir = await mkdtemp(path.join(work, 'c-'));
    const r = await hoist(dir, ['-c', wrong, 'operation', 'list']);
    expect(r.exitCode, r.stderr).toBe(5);
    const [first, hint, ...rest] = r.stderr.trim().split('\n');
    expect(first).toBe(
      `error[ERR_STORE_TLS_HANDSHAKE]: the etcd store at https://${ADDRESS}:2379 refused the TLS connection: unable to verify the first certificate`,
    );
    expect(hint).toContain(
      `spec.store.etcd.tls.ca (${path.join(work, 'other-ca.pem')}) must be the CA that signed etcd's server certificate`,
    );
    expect(rest).toEqual([]);
    expect(await readdir(dir)).toEqual([]);
  });

  it('says etcd wants a client certificate when none is configured, and names an endpoint that is not TLS', async () => {
    const noCert = await inventory('no-cert.yaml', 'demo', '{ca: ca.pem}');
    const dir = await mkdtemp(path.join(work, 'd-'));
    const r = await hoist(dir, ['-c', noCert, 'operation', 'list']);
    expect(r.exitCode, r.stderr).toBe(5);
    expect(r.stderr).toContain(`error[ERR_STORE_TLS_HANDSHAKE]: the etcd store at https://${ADDRESS}:2379 refused the TLS connection`);
    expect(r.stderr).toContain('hint: etcd asks for a client certificate: set spec.store.etcd.tls.cert and .key');
    // The peer port speaks plain HTTP: the reason is OpenSSL's words, on the one line.
    const plain = await hoist(dir, ['-c', noCert, '--store', `etcd://${ADDRESS}:2380`, 'operation', 'list']);
    expect(plain.exitCode, plain.stderr).toBe(5);
    expect(plain.stderr.split('\n').slice(0, 2)).toEqual([
      `error[ERR_STORE_TLS_HANDSHAKE]: the etcd store at https://${ADDRESS}:2380 refused the TLS connection: wrong version number`,
      'hint: the endpoint does not seem to speak TLS: check that etcd serves https there, or drop spec.store.etcd.tls',
    ]);
  });
});
