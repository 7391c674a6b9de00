/**
 * The connection of the etcd store: which endpoints, how long a call may take, and how a failed
 * call reads to the user. Every call is bounded (a gRPC deadline, and a timer around it, since a
 * call queued behind a dead connection can otherwise wait for ever), so an unreachable etcd or
 * one without quorum is ERR_STORE_UNAVAILABLE (exit 5) naming the endpoints, never a hang.
 */
import { readFileSync } from 'node:fs';
import type { Etcd3, IOptions } from 'etcd3';
import { HoistError, InputError, UnreachableError } from '../errors.js';
import { loadEtcd3 } from '../etcd3-client.js';
import { diagnoseTls, looksLikeTlsFailure } from './etcd-tls.js';

/** Where the etcd store lives (inventory `spec.store.etcd`, or `--store etcd://…`). */
export interface EtcdStoreConfig {
  /** host:port or http(s)://host:port. */
  endpoints: string[];
  /** Key prefix all of hoist's keys live under (default "/hoist/"). */
  prefix?: string;
  /** Client TLS: file paths of the CA, and of the client certificate and key if etcd asks for one. */
  tls?: { ca: string; cert?: string; key?: string };
}

/** Tuning of the etcd store; defaults suit production. */
export interface EtcdStoreOptions {
  /** Lease TTL (default 30 s; etcd counts whole seconds). */
  staleAfterMs?: number;
  heartbeatMs?: number;
  hostname?: string;
  /** Bound of one etcd call (default 10 s). */
  callTimeoutMs?: number;
  /** Plan chunk size in bytes (default 512 KiB, well under etcd's 1.5 MiB request limit). */
  chunkBytes?: number;
  /** Plan bytes written in the creating transaction itself; more go in chunks first (default 1 MiB). */
  txnBytes?: number;
}

/** Default bound of one etcd call: a loaded 3-member etcd on slow disks can take seconds to commit. */
export const DEFAULT_CALL_TIMEOUT_MS = 10_000;

/** Parses `etcd://host:port[,host:port…]` (the --store flag). */
export function parseStoreUrl(url: string): EtcdStoreConfig {
  const m = /^etcd:\/\/(.+)$/.exec(url);
  const hosts = m?.[1]?.split(',').map((h) => h.trim()) ?? [];
  if (!m || hosts.length === 0 || hosts.some((h) => !/^[A-Za-z0-9.\-[\]:]+:\d{1,5}$/.test(h))) {
    throw new InputError('ERR_STORE_URL', `--store "${url}" is not etcd://host:port[,host:port…]`, {
      hint: 'e.g. --store etcd://10.0.0.5:2379,10.0.0.6:2379; leave --store out to use the JSON store of the state directory',
    });
  }
  return { endpoints: hosts };
}

/** The endpoints as URLs (https when TLS is configured). */
export function endpointUrls(config: EtcdStoreConfig): string[] {
  const scheme = config.tls ? 'https' : 'http';
  return config.endpoints.map((e) => (/^https?:\/\//.test(e) ? e : `${scheme}://${e}`));
}

/** The key prefix, always ending in "/". */
export function keyPrefix(config: EtcdStoreConfig): string {
  const p = config.prefix ?? '/hoist/';
  return p.endsWith('/') ? p : `${p}/`;
}

/** A client whose every call is bounded by `timeoutMs`. */
export function connect(config: EtcdStoreConfig, timeoutMs: number): Etcd3 {
  const options: IOptions = {
    hosts: endpointUrls(config),
    dialTimeout: timeoutMs,
    defaultCallOptions: () => ({ deadline: Date.now() + timeoutMs }),
  };
  if (config.tls) {
    const read = (what: string, file: string): Buffer => {
      try {
        return readFileSync(file);
      } catch (err) {
        throw new InputError('ERR_STORE_TLS', `cannot read the etcd store's TLS ${what} ${file}: ${(err as Error).message}`, {
          hint: 'fix spec.store.etcd.tls in the inventory: ca, cert and key are file paths',
        });
      }
    };
    options.credentials = {
      rootCertificate: read('CA', config.tls.ca),
      ...(config.tls.key ? { privateKey: read('key', config.tls.key) } : {}),
      ...(config.tls.cert ? { certChain: read('certificate', config.tls.cert) } : {}),
    };
  }
  return new (loadEtcd3())(options);
}

/** The error for an etcd that did not answer (down, partitioned, or without quorum). */
export function storeUnavailable(config: EtcdStoreConfig, what: string, cause: unknown): UnreachableError {
  const why = (cause instanceof Error ? (cause.message.split('\n')[0] ?? '') : String(cause)).replace(/\.?\s*Resolution note:.*$/, '');
  return new UnreachableError(
    'ERR_STORE_UNAVAILABLE',
    `the etcd store at ${endpointUrls(config).join(', ')} did not answer (${what}): ${why}`,
    {
      hint: 'check that the etcd members run and have quorum (etcdctl endpoint health) and that this host reaches them, then re-run the command (e.g. "hoist plan resume"); a write that got no answer may still be recorded once quorum returns, and "hoist plan" shows what was',
      cause,
    },
  );
}

/**
 * Runs one store call against etcd, at most `timeoutMs` (plus a grace for the gRPC deadline to
 * fire first): hoist's own errors pass through, a refused TLS handshake is ERR_STORE_TLS_HANDSHAKE
 * naming the endpoint, anything else from the client is ERR_STORE_UNAVAILABLE.
 */
export async function bounded<T>(config: EtcdStoreConfig, what: string, timeoutMs: number, fn: () => Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${Math.round(timeoutMs / 1000)} s`)), timeoutMs + 1_000);
    timer.unref();
  });
  try {
    return await Promise.race([fn(), timeout]);
  } catch (err) {
    if (HoistError.isHoistError(err)) throw err;
    if (config.tls && looksLikeTlsFailure(err)) {
      throw (await diagnoseTls(config, endpointUrls(config), Math.min(timeoutMs, 3_000))) ?? storeUnavailable(config, what, err);
    }
    throw storeUnavailable(config, what, err);
  } finally {
    clearTimeout(timer);
  }
}
