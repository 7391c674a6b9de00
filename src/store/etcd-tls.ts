/**
 * Why a TLS connection to the etcd store failed, per endpoint. gRPC folds a refused handshake into
 * "UNAVAILABLE: No connection established" for the whole client, naming no endpoint; a plain TLS
 * handshake to each endpoint with the same CA and client certificate tells which one refused and
 * why (an unknown CA, a certificate etcd does not accept, an endpoint that does not speak TLS).
 */
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import tls from 'node:tls';
import { UnreachableError } from '../errors.js';
import type { EtcdStoreConfig } from './etcd-client.js';

/** Errors that mean "nobody answered", not "the handshake failed". */
const NOT_TLS = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN']);

/** A gRPC failure whose text says a TLS handshake went wrong. */
export function looksLikeTlsFailure(cause: unknown): boolean {
  const text = cause instanceof Error ? cause.message : String(cause);
  return /certificate|ssl|tls|alert|handshake|self[- ]signed|wrong version number/i.test(text);
}

/**
 * Handshakes once with `url` (https://host:port); the reason it failed, or undefined when it
 * succeeded or nothing answered. A server that refuses our client certificate says so with an
 * alert after the client's side of a TLS 1.3 handshake is done, hence the short wait after it.
 */
export function handshakeFailure(url: string, credentials: tls.ConnectionOptions, timeoutMs: number): Promise<string | undefined> {
  const { hostname, port } = new URL(url);
  const host = hostname.replace(/^\[(.*)\]$/, '$1');
  return new Promise((resolve) => {
    const socket = tls.connect({
      ...credentials,
      host,
      port: Number(port || 2379),
      ALPNProtocols: ['h2'],
      // An IP is checked against the certificate's IP SANs by host; SNI takes names only.
      ...(isIP(host) ? {} : { servername: host }),
    });
    const done = (reason: string | undefined) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(reason);
    };
    const timer = setTimeout(() => done(undefined), timeoutMs);
    // OpenSSL's own message is a multi-line dump; its `reason` is the words.
    socket.on('error', (err: NodeJS.ErrnoException & { reason?: string }) =>
      done(err.code && NOT_TLS.has(err.code) ? undefined : (err.reason ?? err.message).split('\n')[0]?.trim()),
    );
    socket.on('secureConnect', () => {
      if (!socket.authorized) return done(String(socket.authorizationError));
      setTimeout(() => done(undefined), Math.min(500, timeoutMs)).unref();
    });
  });
}

/** What to do about `reason`, in the inventory's words. */
function hintFor(reason: string, config: EtcdStoreConfig): string {
  const t = config.tls;
  if (/alert|certificate required|bad certificate|unknown ca/i.test(reason) && !/verify|self[- ]signed|altname|expired/i.test(reason)) {
    return t?.cert
      ? `etcd did not accept the client certificate ${t.cert}: it must be signed by the CA etcd trusts (its --trusted-ca-file)`
      : 'etcd asks for a client certificate: set spec.store.etcd.tls.cert and .key to one signed by the CA etcd trusts';
  }
  if (/wrong version number|packet length|unexpected eof|socket hang up|disconnected before/i.test(reason)) {
    return 'the endpoint does not seem to speak TLS: check that etcd serves https there, or drop spec.store.etcd.tls';
  }
  return `spec.store.etcd.tls.ca (${t?.ca}) must be the CA that signed etcd's server certificate, and that certificate must name the address hoist connects to (an IP SAN for an IP)`;
}

/**
 * The endpoint that refused a TLS handshake and why, as ERR_STORE_TLS_HANDSHAKE (exit 5); undefined
 * when every endpoint handshakes (or none answers), so the caller reports the failure as it was.
 */
export async function diagnoseTls(config: EtcdStoreConfig, urls: string[], timeoutMs: number): Promise<UnreachableError | undefined> {
  if (!config.tls) return undefined;
  const credentials: tls.ConnectionOptions = {
    ca: readFileSync(config.tls.ca),
    ...(config.tls.cert ? { cert: readFileSync(config.tls.cert) } : {}),
    ...(config.tls.key ? { key: readFileSync(config.tls.key) } : {}),
  };
  const reasons = await Promise.all(urls.map((u) => handshakeFailure(u, credentials, timeoutMs)));
  const i = reasons.findIndex((r) => r !== undefined);
  const reason = reasons[i];
  if (reason === undefined) return undefined;
  const others = reasons.filter((r) => r !== undefined).length - 1;
  return new UnreachableError(
    'ERR_STORE_TLS_HANDSHAKE',
    `the etcd store at ${urls[i]} refused the TLS connection: ${reason}${others > 0 ? ` (and ${others} more endpoint${others > 1 ? 's' : ''})` : ''}`,
    { hint: hintFor(reason, config) },
  );
}
