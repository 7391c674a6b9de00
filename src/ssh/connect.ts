/**
 * Opening one authenticated ssh2 connection, directly or over a stream forwarded by a bastion,
 * and turning ssh2's failures into UnreachableErrors that name the node and its address.
 */
import { promises as fs } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import type { Duplex } from 'node:stream';
import type { Client, ConnectConfig, ServerHostKeyAlgorithm } from 'ssh2';
import { HoistError, InputError, UnreachableError } from '../errors.js';
import { KnownHostsFile } from './known-hosts-file.js';
import { DEFAULT_CONNECT_TIMEOUT_MS, describeNode, type SshSettings } from './settings.js';

/** One login target: a node or the bastion. */
export interface ConnectTarget {
  name: string;
  address: string;
  port: number;
  user: string;
  identityFile?: string;
}

/** Where the private key comes from. */
interface Credentials {
  privateKey?: Buffer;
  agent?: string;
}

const DEFAULT_KEYS = ['id_ed25519', 'id_ecdsa', 'id_rsa'];

// ssh2's default host key algorithms, strongest first.
const HOST_KEY_ALGORITHMS: ServerHostKeyAlgorithm[] = [
  'ssh-ed25519',
  'ecdsa-sha2-nistp256',
  'ecdsa-sha2-nistp384',
  'ecdsa-sha2-nistp521',
  'rsa-sha2-512',
  'rsa-sha2-256',
  'ssh-rsa',
];

/** The default list with the algorithms of keys pinned for the host moved to the front. */
function hostKeyAlgorithms(preferred: string[]): ServerHostKeyAlgorithm[] {
  const pinned = HOST_KEY_ALGORITHMS.filter((a) => preferred.includes(a));
  return [...pinned, ...HOST_KEY_ALGORITHMS.filter((a) => !pinned.includes(a))];
}

/** Reads the identity file, or falls back to ssh-agent, then to the user's default keys. */
async function loadCredentials(identityFile: string | undefined, agentSocket: string | undefined): Promise<Credentials> {
  if (identityFile) {
    try {
      return { privateKey: await fs.readFile(identityFile), agent: agentSocket };
    } catch (err) {
      throw new InputError('ERR_SSH_IDENTITY_FILE', `cannot read SSH identity file ${identityFile}: ${(err as Error).message}`, {
        hint: 'fix spec.ssh.identityFile in cluster.yaml, or remove it to use ssh-agent',
        cause: err,
      });
    }
  }
  if (agentSocket) return { agent: agentSocket };
  for (const name of DEFAULT_KEYS) {
    const file = path.join(os.homedir(), '.ssh', name);
    const key = await fs.readFile(file).catch(() => undefined);
    if (key) return { privateKey: key };
  }
  throw new UnreachableError(
    'ERR_SSH_NO_CREDENTIALS',
    'no SSH credentials: no identity file configured, no ssh-agent running and no key in ~/.ssh',
    {
      hint: 'set spec.ssh.identityFile in cluster.yaml or start ssh-agent and add a key (ssh-add)',
    },
  );
}

/**
 * Connects and authenticates to `target`, over `sock` when given (a bastion-forwarded stream).
 * The host key is checked against known_hosts before any credential is sent.
 */
/**
 * ssh2, loaded on the first connection: commands that reach no node (`hoist plan`, `status
 * history`) spent a tenth of a second loading its modules and native binding.
 */
function loadSsh2(): typeof import('ssh2') {
  return createRequire(import.meta.url)('ssh2') as typeof import('ssh2');
}

export async function connectClient(target: ConnectTarget, settings: SshSettings, sock?: Duplex): Promise<Client> {
  const timeoutMs = settings.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS;
  const agentSocket = settings.agentSocket ?? process.env.SSH_AUTH_SOCK;
  const credentials = await loadCredentials(target.identityFile, agentSocket || undefined);
  const knownHosts = new KnownHostsFile(settings.knownHostsFile);
  const subject = { name: target.name, address: target.address, port: target.port };
  const preferred = await knownHosts.preferredAlgorithms(subject);
  let hostKeyError: unknown;

  const config: ConnectConfig = {
    host: target.address,
    port: target.port,
    username: target.user,
    ...credentials,
    readyTimeout: timeoutMs,
    // Detect a dead peer within about a minute even when no command is running.
    keepaliveInterval: 15_000,
    keepaliveCountMax: 4,
    ...(sock ? { sock } : {}),
    algorithms: { serverHostKey: hostKeyAlgorithms(preferred) },
    hostVerifier: (key: Buffer, verify: (valid: boolean) => void) => {
      knownHosts.verify(subject, key, settings.acceptNewHostKeys === true).then(
        () => verify(true),
        (err: unknown) => {
          hostKeyError = err;
          verify(false);
        },
      );
    },
  };

  const client = new (loadSsh2().Client)();
  client.once('close', () => closedClients.add(client));
  return new Promise<Client>((resolve, reject) => {
    let settled = false;
    // Stays attached: ssh2 may emit several errors for one failure (refused, then "connection
    // lost"), and an unheard 'error' event would crash the process. After 'ready' the owner of
    // the connection adds its own listener.
    client.on('error', (err: Error & { level?: string; code?: string }) => {
      if (settled) return;
      settled = true;
      client.end();
      reject(hostKeyError ?? connectError(target, err, timeoutMs, sock !== undefined));
    });
    client.once('ready', () => {
      settled = true;
      resolve(client);
    });
    client.connect(config);
  });
}

const closedClients = new WeakSet<Client>();

/** Ends a connection and waits until its socket is closed; a closed one returns at once. */
export async function endClient(client: Client): Promise<void> {
  if (closedClients.has(client)) return;
  await new Promise<void>((resolve) => {
    client.once('close', () => resolve());
    client.end();
  });
}

/** Maps an ssh2 connect failure to an UnreachableError naming node and address. */
function connectError(
  target: ConnectTarget,
  err: Error & { level?: string; code?: string },
  timeoutMs: number,
  viaBastion = false,
): HoistError {
  if (HoistError.isHoistError(err)) return err;
  const who = describeNode(target);
  const extra = { node: target.name, cause: err };
  if (err.level === 'client-authentication') {
    return new UnreachableError('ERR_SSH_AUTH', `SSH authentication as ${target.user} failed on ${who}`, {
      ...extra,
      hint: 'check spec.ssh.user and spec.ssh.identityFile (or the keys in ssh-agent) and the authorized_keys of that user on the node',
    });
  }
  if (err.level === 'client-timeout' || err.code === 'ETIMEDOUT') {
    return new UnreachableError('ERR_SSH_TIMEOUT', `cannot connect to ${who}: no SSH handshake within ${Math.round(timeoutMs / 1000)} s`, {
      ...extra,
      hint: `check that ${target.address} is reachable${viaBastion ? ' from the bastion' : ''} and that sshd answers on port ${target.port}`,
    });
  }
  const reason = err.code === 'ECONNREFUSED' ? 'connection refused' : err.message;
  return new UnreachableError('ERR_SSH_UNREACHABLE', `cannot connect to ${who}: ${reason}`, {
    ...extra,
    hint: `check that sshd runs on ${target.name} and listens on ${target.address} port ${target.port}`,
  });
}

/** Opens a TCP stream from the bastion to the node, for a node connection on top of it. */
export function forwardThrough(bastion: Client, bastionName: string, target: ConnectTarget): Promise<Duplex> {
  return new Promise((resolve, reject) => {
    try {
      bastion.forwardOut('127.0.0.1', 0, target.address, target.port, (err, stream) => {
        if (err) {
          reject(
            new UnreachableError(
              'ERR_SSH_UNREACHABLE',
              `cannot connect to ${describeNode(target)} through bastion ${bastionName}: ${err.message}`,
              {
                node: target.name,
                cause: err,
                hint: `check that the bastion can reach ${target.address} port ${target.port} and allows TCP forwarding`,
              },
            ),
          );
        } else resolve(stream);
      });
    } catch (err) {
      reject(connectError({ ...target, name: bastionName }, err as Error, 0));
    }
  });
}
