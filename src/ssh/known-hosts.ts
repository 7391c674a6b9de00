/**
 * OpenSSH known_hosts: parsing, host matching (plain, `[host]:port`, wildcards, negation and
 * hashed `|1|salt|hash` entries) and the trust decision for an offered host key. Pure functions;
 * the file I/O lives in known-hosts-file.ts.
 *
 * Policy: a host key is trusted only if an entry for the host holds exactly that key. A host with
 * known keys that offers a different key — of the same type or of another type — is "changed"
 * (stricter than OpenSSH, which treats an unknown key type as new: an attacker without the real
 * key could otherwise pick a type we have not pinned). `@revoked` keys are refused;
 * `@cert-authority` lines are ignored because hoist does not accept host certificates.
 */
import { createHash, createHmac } from 'node:crypto';

/** One key line of a known_hosts file. */
export interface KnownHostEntry {
  /** 1-based line number, for messages that tell the operator which line to remove. */
  line: number;
  marker?: 'revoked' | 'cert-authority';
  /** Comma-separated patterns, or undefined for a hashed entry. */
  patterns?: string[];
  hashed?: { salt: Buffer; hash: Buffer };
  keyType: string;
  /** The public key blob (the base64 field decoded). */
  key: Buffer;
}

/** How an offered key relates to what known_hosts says about the host. */
export type HostKeyStatus =
  | { status: 'known' }
  | { status: 'unknown' }
  | { status: 'changed'; known: KnownHostEntry[] }
  | { status: 'revoked'; entry: KnownHostEntry };

/** Parses known_hosts text; blank lines, comments and malformed lines are skipped. */
export function parseKnownHosts(text: string): KnownHostEntry[] {
  const entries: KnownHostEntry[] = [];
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const entry = parseLine(lines[i]!.trim(), i + 1);
    if (entry) entries.push(entry);
  }
  return entries;
}

function parseLine(text: string, line: number): KnownHostEntry | undefined {
  if (text === '' || text.startsWith('#')) return undefined;
  const fields = text.split(/\s+/);
  let marker: KnownHostEntry['marker'];
  if (fields[0]?.startsWith('@')) {
    const name = fields.shift()!;
    if (name === '@revoked') marker = 'revoked';
    else if (name === '@cert-authority') marker = 'cert-authority';
    else return undefined; // a marker we do not know: ignore the line rather than misread it
  }
  const [hosts, keyType, keyText] = fields;
  if (!hosts || !keyType || !keyText) return undefined;
  const key = Buffer.from(keyText, 'base64');
  // A corrupt base64 field or a blob of another type must not match anything.
  if (key.length === 0 || keyTypeOf(key) !== keyType) return undefined;
  if (hosts.startsWith('|1|')) {
    const [, , salt, hash] = hosts.split('|');
    if (!salt || !hash) return undefined;
    return { line, marker, keyType, key, hashed: { salt: Buffer.from(salt, 'base64'), hash: Buffer.from(hash, 'base64') } };
  }
  return { line, marker, keyType, key, patterns: hosts.split(',') };
}

/** The name a host is recorded under: `address` on port 22, `[address]:port` otherwise. */
export function hostToken(address: string, port = 22): string {
  return port === 22 ? address : `[${address}]:${port}`;
}

/** True when `entry` names the host at address:port. */
export function entryMatchesHost(entry: KnownHostEntry, address: string, port = 22): boolean {
  const token = hostToken(address, port);
  if (entry.hashed) {
    const hash = createHmac('sha1', entry.hashed.salt).update(token).digest();
    return hash.equals(entry.hashed.hash);
  }
  let matched = false;
  for (const pattern of entry.patterns ?? []) {
    const negated = pattern.startsWith('!');
    if (!globMatch(negated ? pattern.slice(1) : pattern, token)) continue;
    if (negated) return false; // a negated match vetoes the whole line
    matched = true;
  }
  return matched;
}

/** OpenSSH pattern matching: `*` and `?` wildcards, case-insensitive, everything else literal. */
function globMatch(pattern: string, text: string): boolean {
  const source = pattern
    .toLowerCase()
    .replace(/[.+^${}()|[\]\\]/g, '\\$&')
    .replace(/\*/g, '.*')
    .replace(/\?/g, '.');
  return new RegExp(`^${source}$`).test(text.toLowerCase());
}

/** Decides whether the key offered by address:port is known, unknown, changed or revoked. */
export function checkHostKey(entries: KnownHostEntry[], address: string, port: number, key: Buffer): HostKeyStatus {
  const forHost = entries.filter((e) => e.marker !== 'cert-authority' && entryMatchesHost(e, address, port));
  const revoked = forHost.find((e) => e.marker === 'revoked' && e.key.equals(key));
  if (revoked) return { status: 'revoked', entry: revoked };
  const pinned = forHost.filter((e) => e.marker === undefined);
  if (pinned.some((e) => e.key.equals(key))) return { status: 'known' };
  if (pinned.length > 0) return { status: 'changed', known: pinned };
  return { status: 'unknown' };
}

/** The SSH wire type name at the start of a public key blob (`ssh-ed25519`). */
export function keyTypeOf(key: Buffer): string {
  if (key.length < 4) return '';
  const len = key.readUInt32BE(0);
  if (len > key.length - 4 || len > 64) return '';
  return key.subarray(4, 4 + len).toString('latin1');
}

/** OpenSSH fingerprint of a key blob: `SHA256:` + unpadded base64 of its sha256. */
export function fingerprint(key: Buffer): string {
  return `SHA256:${createHash('sha256').update(key).digest('base64').replace(/=+$/, '')}`;
}

/** How OpenSSH names a key type in messages (`ED25519`, `RSA`, `ECDSA`). */
function keyLabel(keyType: string): string {
  if (keyType === 'ssh-ed25519') return 'ED25519';
  if (keyType === 'ssh-rsa') return 'RSA';
  if (keyType === 'ssh-dss') return 'DSA';
  if (keyType.startsWith('ecdsa-sha2-')) return 'ECDSA';
  return keyType;
}

/** `ED25519 key SHA256:…` for messages. */
export function describeKey(key: Buffer): string {
  return `${keyLabel(keyTypeOf(key))} key ${fingerprint(key)}`;
}

/** A plain known_hosts line for a host key, without a trailing newline. */
export function formatKnownHostLine(address: string, port: number, key: Buffer): string {
  return `${hostToken(address, port)} ${keyTypeOf(key)} ${key.toString('base64')}`;
}

const HOST_KEY_ALGORITHMS: Record<string, string[]> = {
  'ssh-ed25519': ['ssh-ed25519'],
  'ssh-rsa': ['rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa'],
  'ecdsa-sha2-nistp256': ['ecdsa-sha2-nistp256'],
  'ecdsa-sha2-nistp384': ['ecdsa-sha2-nistp384'],
  'ecdsa-sha2-nistp521': ['ecdsa-sha2-nistp521'],
};

/**
 * Host key algorithms to ask for first, from the key types pinned for the host. Like OpenSSH,
 * this makes a server with several host keys present the one we know instead of a "changed" one.
 */
export function preferredHostKeyAlgorithms(entries: KnownHostEntry[], address: string, port: number): string[] {
  const algorithms: string[] = [];
  for (const entry of entries) {
    if (entry.marker !== undefined || !entryMatchesHost(entry, address, port)) continue;
    for (const algorithm of HOST_KEY_ALGORITHMS[entry.keyType] ?? []) {
      if (!algorithms.includes(algorithm)) algorithms.push(algorithm);
    }
  }
  return algorithms;
}
