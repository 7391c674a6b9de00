/** Which store a command uses, and the store that must not be the cluster's own etcd. */
import { describe, expect, it } from 'vitest';
import { parseStoreUrl } from '../../../src/store/etcd-client.js';
import { checkStoreOutsideCluster, etcdStoreChoice } from '../../../src/store/selected-store.js';
import { plan } from './fixtures.js';

const inventoryStore = { etcd: { endpoints: ['10.0.0.9:2379'], prefix: '/team/', tls: { ca: '/etc/ca.pem' } } };

describe('store selection', () => {
  it('takes --store over the inventory over the JSON default', () => {
    expect(etcdStoreChoice(undefined, undefined)).toBeUndefined();
    expect(etcdStoreChoice(undefined, inventoryStore)).toEqual(inventoryStore.etcd);
    expect(etcdStoreChoice('etcd://10.0.0.5:2379,10.0.0.6:2379', inventoryStore)).toEqual({
      ...inventoryStore.etcd,
      endpoints: ['10.0.0.5:2379', '10.0.0.6:2379'],
    });
    expect(etcdStoreChoice('json', inventoryStore)).toBeUndefined();
  });

  it('refuses a --store that is not etcd://host:port[,host:port]', () => {
    for (const bad of ['etcd://', 'http://10.0.0.5:2379', 'etcd://10.0.0.5', 'etcd://a:1,,b:2']) {
      const err = (() => {
        try {
          parseStoreUrl(bad);
        } catch (e) {
          return e as { code: string; exitCode: number; message: string };
        }
        throw new Error(`accepted ${bad}`);
      })();
      expect(err.code).toBe('ERR_STORE_URL');
      expect(err.exitCode).toBe(3);
      expect(err.message).toContain(bad);
    }
  });

  it("refuses the cluster's own etcd as the store of a plan with an /etcd block, only then", () => {
    const withEtcd = { ...plan('op-1'), phases: [...plan('op-1').phases, { id: '/etcd', description: 'etcd', requires: [], phases: [] }] };
    const nodes = ['10.0.0.1', '10.0.0.2'];
    const own = { endpoints: ['10.0.0.9:2379', 'http://10.0.0.2:2379'] };
    expect(() => checkStoreOutsideCluster(own, withEtcd, nodes)).toThrow(
      expect.objectContaining({ code: 'ERR_STORE_IS_CLUSTER_ETCD', exitCode: 3, message: expect.stringContaining('http://10.0.0.2:2379') }),
    );
    expect(() => checkStoreOutsideCluster(own, plan('op-1'), nodes)).not.toThrow();
    expect(() => checkStoreOutsideCluster({ endpoints: ['10.0.0.9:2379'] }, withEtcd, nodes)).not.toThrow();
    expect(() => checkStoreOutsideCluster(undefined, withEtcd, nodes)).not.toThrow();
  });
});
