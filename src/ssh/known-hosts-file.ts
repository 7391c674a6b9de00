/**
 * The known_hosts file hoist trusts: read fresh on every connect (another run or `ssh` may have
 * added a key), appended to only with --accept-new-host-keys. Appends to one file are serialised
 * within the process and re-check the file first, so parallel connects to the same new host
 * record its key once.
 */
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { UnreachableError } from '../errors.js';
import {
  checkHostKey,
  describeKey,
  formatKnownHostLine,
  type KnownHostEntry,
  parseKnownHosts,
  preferredHostKeyAlgorithms,
} from './known-hosts.js';

/** The node a host key belongs to, for the check and its messages. */
export interface HostKeySubject {
  name: string;
  address: string;
  port: number;
}

/** Default known_hosts of the user running hoist. */
function defaultKnownHostsFile(): string {
  return path.join(os.homedir(), '.ssh', 'known_hosts');
}

const appendQueues = new Map<string, Promise<unknown>>();

/** Host-key verification against one known_hosts file. */
export class KnownHostsFile {
  readonly file: string;

  constructor(file: string = defaultKnownHostsFile()) {
    this.file = path.resolve(file);
  }

  /** Parsed entries; a missing file has none. */
  async entries(): Promise<KnownHostEntry[]> {
    try {
      return parseKnownHosts(await fs.readFile(this.file, 'utf8'));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw new UnreachableError('ERR_SSH_KNOWN_HOSTS_UNREADABLE', `cannot read known hosts file ${this.file}: ${(err as Error).message}`, {
        hint: 'check the knownHostsFile setting in cluster.yaml and the file permissions',
        cause: err,
      });
    }
  }

  /** Host key algorithms to offer first for the host (see preferredHostKeyAlgorithms). */
  async preferredAlgorithms(subject: HostKeySubject): Promise<string[]> {
    return preferredHostKeyAlgorithms(await this.entries(), subject.address, subject.port);
  }

  /**
   * Resolves when `key` may be trusted for the node; records it first when it is new and
   * `acceptNew` is set. Throws UnreachableError for unknown (without acceptNew), changed or
   * revoked keys.
   */
  async verify(subject: HostKeySubject, key: Buffer, acceptNew: boolean): Promise<void> {
    const result = checkHostKey(await this.entries(), subject.address, subject.port, key);
    const who = `${subject.name} (${subject.address}${subject.port === 22 ? '' : `:${subject.port}`})`;
    if (result.status === 'known') return;
    if (result.status === 'revoked') {
      throw new UnreachableError(
        'ERR_SSH_HOST_KEY_REVOKED',
        `host key of ${who} is revoked in ${this.file} (line ${result.entry.line}): ${describeKey(key)}`,
        {
          node: subject.name,
          hint: 'the node presents a key marked @revoked; find out why before trusting this node',
        },
      );
    }
    if (result.status === 'changed') {
      const old = result.known.map((e) => `${describeKey(e.key)} (line ${e.line})`).join(', ');
      throw new UnreachableError('ERR_SSH_HOST_KEY_CHANGED', `host key of ${who} has changed: known ${old}, offered ${describeKey(key)}`, {
        node: subject.name,
        hint: `if the node was reinstalled, remove the old entry from ${this.file}, verify the new fingerprint, then re-run with --accept-new-host-keys`,
      });
    }
    if (!acceptNew) {
      throw new UnreachableError('ERR_SSH_HOST_KEY_UNKNOWN', `host key of ${who} is not known: ${describeKey(key)}`, {
        node: subject.name,
        hint: 'verify the fingerprint, then re-run with --accept-new-host-keys to record it',
      });
    }
    await this.append(subject, key);
  }

  /** Appends the key unless the file learnt it meanwhile; serialised per file. */
  private async append(subject: HostKeySubject, key: Buffer): Promise<void> {
    const previous = appendQueues.get(this.file) ?? Promise.resolve();
    const next = previous.catch(() => undefined).then(() => this.appendNow(subject, key));
    appendQueues.set(this.file, next);
    try {
      await next;
    } finally {
      if (appendQueues.get(this.file) === next) appendQueues.delete(this.file);
    }
  }

  private async appendNow(subject: HostKeySubject, key: Buffer): Promise<void> {
    // Re-check under the queue: a parallel connect may have recorded it (or a different key).
    const result = checkHostKey(await this.entries(), subject.address, subject.port, key);
    if (result.status === 'known') return;
    if (result.status !== 'unknown') return this.verify(subject, key, false);
    await fs.mkdir(path.dirname(this.file), { recursive: true, mode: 0o700 });
    let prefix = '';
    try {
      const current = await fs.readFile(this.file, 'utf8');
      if (current.length > 0 && !current.endsWith('\n')) prefix = '\n';
    } catch {
      // missing file: created by the append below
    }
    await fs.appendFile(this.file, `${prefix}${formatKnownHostLine(subject.address, subject.port, key)}\n`, { mode: 0o600 });
  }
}
