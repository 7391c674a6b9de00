/**
 * Transport to one node over ssh2. The connection is opened on first use, shared by every
 * command, upload and socket of the run, and reopened on the next call if it drops (so the agent
 * client can re-attach to an execution after a network blip).
 */
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import type { Client } from 'ssh2';
import { ExitCode, HoistError } from '../errors.js';
import { type ConnectTarget, connectClient, endClient } from './connect.js';
import { describeNode, type SshNode, type SshSettings } from './settings.js';
import { execOnClient } from './ssh-exec.js';
import { openRelay, openStreamLocal, relayCommand, socketError } from './ssh-socket.js';
import { uploadOverSftp } from './ssh-upload.js';
import { sudoRefusal, sudoRefusedError } from './sudo.js';
import {
  type ExecOptions,
  type ExecResult,
  RemoteCommandError,
  type Transport,
  type UnixSocketOptions,
  type UploadOptions,
  withSudo,
} from './transport.js';

/** Opens the byte stream a node connection runs over (used for bastions). */
export type Dialer = (target: ConnectTarget) => Promise<Duplex>;

/** Collaborators of an SshTransport. */
export interface SshTransportOptions {
  /** Without it the transport connects to the node directly. */
  dial?: Dialer;
  log?: Logger;
}

/** Transport over one pooled ssh2 connection. */
export class SshTransport implements Transport {
  readonly node: string;
  readonly user: string;
  readonly target: ConnectTarget;
  /** How many times a connection was established (1 for a healthy run). */
  connectCount = 0;
  private pending?: Promise<Client>;
  /**
   * Why the last connect failed, kept until close(): a node's reachability is one fact per
   * command, so the phases after the first do not each wait out their own connect timeout.
   */
  private unreachable?: unknown;
  private streamLocalUnavailable = false;
  private readonly settings: SshSettings;
  private readonly options: SshTransportOptions;

  constructor(node: SshNode, settings: SshSettings, options: SshTransportOptions = {}) {
    this.node = node.name;
    this.user = node.user ?? settings.user ?? 'root';
    this.target = {
      name: node.name,
      address: node.address,
      port: node.port ?? settings.port ?? 22,
      user: this.user,
      identityFile: node.identityFile ?? settings.identityFile,
    };
    this.settings = node.knownHostsFile ? { ...settings, knownHostsFile: node.knownHostsFile } : settings;
    this.options = options;
  }

  /** The live connection, opened on first use or after a drop. */
  client(): Promise<Client> {
    if (this.unreachable !== undefined) return Promise.reject(this.unreachable);
    if (!this.pending) {
      const pending = this.connect();
      this.pending = pending;
      pending.catch((err: unknown) => {
        if (this.pending !== pending) return;
        this.pending = undefined;
        if (HoistError.isHoistError(err) && err.exitCode === ExitCode.unreachable) this.unreachable = err;
      });
    }
    return this.pending;
  }

  private async connect(): Promise<Client> {
    const sock = this.options.dial ? await this.options.dial(this.target) : undefined;
    const client = await connectClient(this.target, this.settings, sock);
    this.connectCount++;
    this.options.log?.debug(
      { event: 'ssh.connect', node: this.node, address: this.target.address },
      `connected to ${describeNode(this.target)}`,
    );
    const current = this.pending;
    client.on('error', (err: Error) => {
      this.options.log?.warn(
        { event: 'ssh.error', node: this.node, err: err.message },
        `SSH connection to ${this.node} failed: ${err.message}`,
      );
    });
    client.on('close', () => {
      if (this.pending === current) this.pending = undefined;
    });
    return client;
  }

  /** Runs `cmd` through `sh -c` semantics of the login shell (see Transport.exec). */
  async exec(cmd: string, opts: ExecOptions = {}): Promise<ExecResult> {
    const client = await this.client();
    const result = await execOnClient(client, this.node, cmd, opts, (c) => withSudo(c, this.user, opts.sudo));
    if (opts.sudo && this.user !== 'root') {
      const refused = sudoRefusal(result);
      if (refused) throw sudoRefusedError(this.node, this.user, cmd, refused);
    }
    if (opts.check && (result.exitCode !== 0 || result.signal)) throw new RemoteCommandError(this.node, cmd, result);
    return result;
  }

  /** SFTP upload with mode and sha256 check (see ssh-upload.ts). */
  async upload(src: string | Buffer, dest: string, opts: UploadOptions): Promise<void> {
    await uploadOverSftp(
      { node: this.node, user: this.user, client: () => this.client(), exec: (c, o) => this.exec(c, o) },
      src,
      dest,
      opts,
    );
  }

  /** Streamlocal forwarding, falling back to an exec relay (see ssh-socket.ts). */
  async openUnixSocket(path: string, opts: UnixSocketOptions = {}): Promise<Duplex> {
    const client = await this.client();
    const sudo = opts.sudo === true && this.user !== 'root';
    let forwardError: unknown;
    if (!sudo && !this.streamLocalUnavailable) {
      try {
        return await openStreamLocal(client, path);
      } catch (err) {
        // OpenSSH answers "open failed" (connect failed) both when it forbids forwarding and when
        // nothing listens: the relay tells them apart, its shell checking for the socket first.
        forwardError = err;
      }
    }
    try {
      const line = withSudo(relayCommand(path, opts.runtime), this.user, opts.sudo);
      const stream = await openRelay(client, this.node, path, line, (stderr) => {
        const refused = sudo ? sudoRefusal({ exitCode: 1, stderr }) : undefined;
        return refused ? sudoRefusedError(this.node, this.user, `connect to ${path}`, refused) : undefined;
      });
      // The relay reached the socket that forwarding could not: forwarding is refused here.
      if (forwardError !== undefined) this.streamLocalUnavailable = true;
      return stream;
    } catch (err) {
      if (HoistError.isHoistError(err)) throw err;
      throw socketError(this.node, path, (err as Error).message, err);
    }
  }

  /** Closes the connection; a later call reconnects (also after a failed connect). */
  async close(): Promise<void> {
    this.unreachable = undefined;
    const pending = this.pending;
    this.pending = undefined;
    if (!pending) return;
    const client = await pending.catch(() => undefined);
    if (client) await endClient(client);
  }
}
