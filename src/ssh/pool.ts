/**
 * One SSH connection per node for a whole run. Transports are created on first use; a bastion
 * (the cluster's, or a node's own, which replaces it) is connected once and carries every node
 * connection that goes through it. Bastion host keys are checked against known_hosts like a node's.
 */
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import type { Client } from 'ssh2';
import { InputError } from '../errors.js';
import { type ConnectTarget, connectClient, endClient, forwardThrough } from './connect.js';
import type { BastionSettings, SshNode, SshSettings } from './settings.js';
import { SshTransport } from './ssh-transport.js';

/** Name the bastion goes by in messages and known_hosts checks. */
const BASTION_NAME = 'bastion';

/** Lazily created, reused SSH transports to the nodes of one cluster. */
export class SshPool {
  private readonly nodes = new Map<string, SshNode>();
  private readonly transports = new Map<string, SshTransport>();
  /** Open bastion connections by user@address:port. */
  private readonly bastions = new Map<string, Promise<Client>>();

  constructor(
    nodes: SshNode[],
    private readonly settings: SshSettings,
    private readonly log?: Logger,
  ) {
    for (const node of nodes) this.nodes.set(node.name, node);
  }

  /** The transport of `name` (no connection is opened until it is used). */
  get(name: string): SshTransport {
    let transport = this.transports.get(name);
    if (transport) return transport;
    const node = this.nodes.get(name);
    if (!node) {
      throw new InputError('ERR_SSH_UNKNOWN_NODE', `node ${name} is not in the inventory`, {
        node: name,
        hint: `known nodes: ${[...this.nodes.keys()].join(', ')}`,
      });
    }
    const bastion = node.bastion ?? this.settings.bastion;
    const shared = this.settings.bastion && bastion && sameHost(bastion, this.settings.bastion);
    const bastionName = shared ? BASTION_NAME : `bastion of ${node.name}`;
    transport = new SshTransport(node, this.settings, {
      log: this.log,
      ...(bastion ? { dial: (target: ConnectTarget) => this.dialThrough(bastion, bastionName, target) } : {}),
    });
    this.transports.set(name, transport);
    return transport;
  }

  /**
   * Connects to the given nodes (default all) in parallel and waits for every attempt; throws the
   * first failure in node order so the message is stable, with the other failures as details.
   */
  async connectAll(names: string[] = [...this.nodes.keys()]): Promise<void> {
    const results = await Promise.allSettled(names.map((name) => this.get(name).client()));
    const failures = results.flatMap((r) => (r.status === 'rejected' ? [r.reason as unknown] : []));
    if (failures.length === 0) return;
    const [first, ...rest] = failures;
    if (rest.length > 0 && first instanceof Error && 'details' in first && Array.isArray(first.details)) {
      first.details.push(...rest.map((e) => (e instanceof Error ? e.message : String(e))));
    }
    throw first;
  }

  /** Closes every connection, the bastions last. */
  async closeAll(): Promise<void> {
    await Promise.all([...this.transports.values()].map((t) => t.close()));
    this.transports.clear();
    const bastions = [...this.bastions.values()];
    this.bastions.clear();
    for (const pending of bastions) {
      const client = await pending.catch(() => undefined);
      if (client) await endClient(client);
    }
  }

  private async dialThrough(bastion: BastionSettings, name: string, target: ConnectTarget): Promise<Duplex> {
    const login = this.bastionTarget(bastion, name);
    const key = `${login.user}@${login.address}:${login.port}`;
    let pending = this.bastions.get(key);
    if (!pending) {
      pending = this.connectBastion(login, key);
      this.bastions.set(key, pending);
      const mine = pending;
      mine.catch(() => {
        if (this.bastions.get(key) === mine) this.bastions.delete(key);
      });
    }
    return forwardThrough(await pending, name, target);
  }

  private bastionTarget(b: BastionSettings, name: string): ConnectTarget {
    return {
      name,
      address: b.address,
      port: b.port ?? 22,
      user: b.user ?? this.settings.user ?? 'root',
      identityFile: b.identityFile ?? this.settings.identityFile,
    };
  }

  private async connectBastion(login: ConnectTarget, key: string): Promise<Client> {
    const client = await connectClient(login, this.settings);
    client.on('error', (err: Error) =>
      this.log?.warn({ event: 'ssh.error', node: login.name, err: err.message }, `${login.name} connection failed: ${err.message}`),
    );
    const current = this.bastions.get(key);
    client.on('close', () => {
      if (this.bastions.get(key) === current) this.bastions.delete(key);
    });
    return client;
  }
}

function sameHost(a: BastionSettings, b: BastionSettings): boolean {
  return a.address === b.address && (a.port ?? 22) === (b.port ?? 22) && a.user === b.user;
}
