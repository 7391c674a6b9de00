import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  checkHostKey,
  describeKey,
  entryMatchesHost,
  fingerprint,
  formatKnownHostLine,
  hostToken,
  keyTypeOf,
  parseKnownHosts,
  preferredHostKeyAlgorithms,
} from '../../../src/ssh/known-hosts.js';

// Vectors produced with OpenSSH: ssh-keygen -lf (fingerprint) and ssh-keygen -H (hashed lines).
const KEY_B64 = 'AAAAC3NzaC1lZDI1NTE5AAAAIL6pdFm+C9gEs0wq202bV+/rZ2GrJJZGT0/tSFK4N0Lp';
const KEY = Buffer.from(KEY_B64, 'base64');
const KEY_FP = 'SHA256:sT3RfSLvuomlzkd8n1dNZxfXseM6U5/GM4HUR48juOE';
const HASHED_PORT_22 = `|1|U2kKg2ZkMQhSq5PcCkk+8XwG6mw=|ZrPCnmv4iC4T+0gCKagL/iyUqT8= ssh-ed25519 ${KEY_B64}`;
const HASHED_PORT_2222 = `|1|7cKPGPfOERWeDyIB59Ak+iiEMFw=|PWGTL+GOmKZSPbPKKG4GNAvLJTU= ssh-ed25519 ${KEY_B64}`;

function ed25519Blob(seed: Buffer): Buffer {
  const type = Buffer.from('ssh-ed25519');
  const head = Buffer.alloc(4);
  head.writeUInt32BE(type.length);
  const len = Buffer.alloc(4);
  len.writeUInt32BE(seed.length);
  return Buffer.concat([head, type, len, seed]);
}
const OTHER = ed25519Blob(randomBytes(32));

describe('ssh › known-hosts', () => {
  describe('keys', () => {
    it('reads the key type from the blob and fingerprints it like ssh-keygen -l', () => {
      expect(keyTypeOf(KEY)).toBe('ssh-ed25519');
      expect(fingerprint(KEY)).toBe(KEY_FP);
      expect(describeKey(KEY)).toBe(`ED25519 key ${KEY_FP}`);
    });

    it('formats plain lines, bracketing non-default ports', () => {
      expect(hostToken('127.0.0.3')).toBe('127.0.0.3');
      expect(hostToken('127.0.0.3', 2222)).toBe('[127.0.0.3]:2222');
      expect(formatKnownHostLine('127.0.0.3', 22, KEY)).toBe(`127.0.0.3 ssh-ed25519 ${KEY_B64}`);
    });
  });

  describe('parsing', () => {
    it('skips comments, blank lines, malformed lines and unknown markers', () => {
      const entries = parseKnownHosts(
        [
          '# a comment',
          '',
          `127.0.0.2 ssh-ed25519 ${KEY_B64}`,
          'garbage',
          `127.0.0.4 ssh-ed25519 not-base64-of-a-key`,
          `127.0.0.5 ssh-rsa ${KEY_B64}`,
          `@future-marker 127.0.0.6 ssh-ed25519 ${KEY_B64}`,
          `@cert-authority *.example ssh-ed25519 ${KEY_B64}`,
          `@revoked * ssh-ed25519 ${KEY_B64}`,
          `   127.0.0.7,127.0.0.8   ssh-ed25519   ${KEY_B64}   comment words`,
        ].join('\n'),
      );
      expect(entries.map((e) => [e.line, e.marker ?? '', e.patterns?.join(',')])).toEqual([
        [3, '', '127.0.0.2'],
        [8, 'cert-authority', '*.example'],
        [9, 'revoked', '*'],
        [10, '', '127.0.0.7,127.0.0.8'],
      ]);
    });

    it('parses hashed entries written by ssh-keygen -H', () => {
      const [entry] = parseKnownHosts(HASHED_PORT_22);
      expect(entry?.hashed?.salt.length).toBe(20);
      expect(entry?.patterns).toBeUndefined();
    });
  });

  describe('matching', () => {
    const match = (line: string, address: string, port = 22) => entryMatchesHost(parseKnownHosts(line)[0]!, address, port);

    it('matches plain and bracketed host names by port', () => {
      expect(match(`127.0.0.9 ssh-ed25519 ${KEY_B64}`, '127.0.0.9')).toBe(true);
      expect(match(`127.0.0.9 ssh-ed25519 ${KEY_B64}`, '127.0.0.9', 2222)).toBe(false);
      expect(match(`[127.0.0.9]:2222 ssh-ed25519 ${KEY_B64}`, '127.0.0.9', 2222)).toBe(true);
      expect(match(`[127.0.0.9]:2222 ssh-ed25519 ${KEY_B64}`, '127.0.0.9')).toBe(false);
    });

    it('honours wildcards and negation', () => {
      const line = `127.0.0.*,!127.0.0.3 ssh-ed25519 ${KEY_B64}`;
      expect(match(line, '127.0.0.2')).toBe(true);
      expect(match(line, '127.0.0.3')).toBe(false);
      expect(match(`127.0.0.? ssh-ed25519 ${KEY_B64}`, '127.0.0.12')).toBe(false);
      expect(match(`127.0.0.1? ssh-ed25519 ${KEY_B64}`, '127.0.0.12')).toBe(true);
      // dots are literal, not regex wildcards
      expect(match(`127.0.0.2 ssh-ed25519 ${KEY_B64}`, '127x0x0x2')).toBe(false);
    });

    it('matches hashed entries for the exact host and port only', () => {
      expect(match(HASHED_PORT_22, '127.0.0.9')).toBe(true);
      expect(match(HASHED_PORT_22, '127.0.0.10')).toBe(false);
      expect(match(HASHED_PORT_2222, '127.0.0.9', 2222)).toBe(true);
      expect(match(HASHED_PORT_2222, '127.0.0.9')).toBe(false);
    });
  });

  describe('trust decision', () => {
    it('knows a pinned key, changes on a different key, unknown without entries', () => {
      const entries = parseKnownHosts(`127.0.0.9 ssh-ed25519 ${KEY_B64}`);
      expect(checkHostKey(entries, '127.0.0.9', 22, KEY)).toEqual({ status: 'known' });
      expect(checkHostKey(entries, '127.0.0.9', 22, OTHER).status).toBe('changed');
      expect(checkHostKey(entries, '127.0.0.10', 22, KEY)).toEqual({ status: 'unknown' });
    });

    it('treats a key of another type as changed when the host has pinned keys', () => {
      const rsaLike = Buffer.concat([Buffer.from([0, 0, 0, 7]), Buffer.from('ssh-rsa'), randomBytes(20)]);
      const entries = parseKnownHosts(`127.0.0.9 ssh-ed25519 ${KEY_B64}`);
      expect(checkHostKey(entries, '127.0.0.9', 22, rsaLike).status).toBe('changed');
    });

    it('refuses a revoked key even when it is also pinned, and ignores cert authorities', () => {
      const entries = parseKnownHosts([`127.0.0.9 ssh-ed25519 ${KEY_B64}`, `@revoked * ssh-ed25519 ${KEY_B64}`].join('\n'));
      expect(checkHostKey(entries, '127.0.0.9', 22, KEY).status).toBe('revoked');
      const ca = parseKnownHosts(`@cert-authority * ssh-ed25519 ${KEY_B64}`);
      expect(checkHostKey(ca, '127.0.0.9', 22, KEY).status).toBe('unknown');
    });

    it('prefers the host key algorithms of pinned keys', () => {
      const entries = parseKnownHosts(`127.0.0.9 ssh-ed25519 ${KEY_B64}\n* ssh-ed25519 ${KEY_B64}`);
      expect(preferredHostKeyAlgorithms(entries, '127.0.0.9', 22)).toEqual(['ssh-ed25519']);
      expect(preferredHostKeyAlgorithms([], '127.0.0.9', 22)).toEqual([]);
    });
  });
});
