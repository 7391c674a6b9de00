/**
 * The etcd3 client class, loaded on first use: the gRPC stack behind it takes a third of a second
 * to load, which every hoist command on the JSON store would otherwise pay.
 */
import { createRequire } from 'node:module';
import type { Etcd3, EtcdLeaseInvalidError } from 'etcd3';

export function loadEtcd3(): typeof Etcd3 {
  return (createRequire(import.meta.url)('etcd3') as typeof import('etcd3')).Etcd3;
}

/** etcd3's error for a lease etcd no longer knows (expired or revoked), loaded as the client is. */
export function loadLeaseInvalidError(): typeof EtcdLeaseInvalidError {
  return (createRequire(import.meta.url)('etcd3') as typeof import('etcd3')).EtcdLeaseInvalidError;
}
