/**
 * One SSH connection per node for a whole run. Transports are created on first use; a bastion,
 * when configured, is connected once and carries every node connection.
 */
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import type { Client } from 'ssh2';
import { InputError } from '../errors.js';
import { type ConnectTarget, connectClient, endClient, forwardThrough } from './connect.js';
import type { SshNode, SshSettings } from './settings.js';
import { SshTransport } from './ssh-transport.js';

/** Name the bastion goes by in messages and known_hosts checks. */
const BASTION_NAME = 'bastion';

/** Lazily created, reused SSH transports to the nodes of one cluster. */
export class SshPool {
  private readonly nodes = new Map<string, SshNode>();
  private readonly transports = new Map<string, SshTransport>();
  private bastion?: Promise<Client>;

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
    transport = new SshTransport(node, this.settings, {
      log: this.log,
      ...(this.settings.bastion ? { dial: (target: ConnectTarget) => this.dialThroughBastion(target) } : {}),
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

  /** Closes every connection, the bastion last. */
  async closeAll(): Promise<void> {
    await Promise.all([...this.transports.values()].map((t) => t.close()));
    this.transports.clear();
    const bastion = this.bastion;
    this.bastion = undefined;
    const client = await bastion?.catch(() => undefined);
    if (client) await endClient(client);
  }

  private async dialThroughBastion(target: ConnectTarget): Promise<Duplex> {
    if (!this.bastion) {
      const pending = this.connectBastion();
      this.bastion = pending;
      pending.catch(() => {
        if (this.bastion === pending) this.bastion = undefined;
      });
    }
    return forwardThrough(await this.bastion, BASTION_NAME, target);
  }

  private async connectBastion(): Promise<Client> {
    const b = this.settings.bastion!;
    const client = await connectClient(
      {
        name: BASTION_NAME,
        address: b.address,
        port: b.port ?? 22,
        user: b.user ?? this.settings.user ?? 'root',
        identityFile: b.identityFile ?? this.settings.identityFile,
      },
      this.settings,
    );
    client.on('error', (err: Error) =>
      this.log?.warn({ event: 'ssh.error', node: BASTION_NAME, err: err.message }, `bastion connection failed: ${err.message}`),
    );
    const current = this.bastion;
    client.on('close', () => {
      if (this.bastion === current) this.bastion = undefined;
    });
    return client;
  }
}
