/**
 * The sandbox: a local cluster of real sshd nodes on loopback addresses, for demos and tests.
 * `sandboxUp` builds it in a directory, `sandboxDown` stops what it started and removes the
 * directory, `sandboxStatus` reports it. Later parts (runtime service, etcd members, Kubernetes
 * API emulator) hook in after the nodes are up and record themselves in sandbox.json.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import type { Logger } from 'pino';
import { InputError, StateError } from '../errors.js';
import { formatKnownHostLine } from '../ssh/known-hosts.js';
import { layoutBastion } from './bastion.js';
import { installFactoryOs } from './boot.js';
import { createLoginUser, removeLoginUser, type SandboxUserRecord } from './login-user.js';
import { readSandboxRecord, renderClusterYaml, type SandboxNodeRecord, type SandboxRecord, writeSandboxRecord } from './manifest.js';
import { layoutNodes, type SandboxNodeLayout } from './nodes.js';
import { isSandboxSshd } from './processes.js';
import { stopSandboxServices } from './services.js';
import { assertAddressFree, ensureSshd, generateKey, renderSshdConfig, startSshd, stopSshd, validateSshdConfig } from './sshd.js';
import { sandboxStoreMembers, startStoreEtcd, stopStoreEtcd } from './store-etcd.js';
import { pathWithoutNode } from './without-node.js';

export type { SandboxNodeRecord, SandboxRecord } from './manifest.js';

/**
 * Starts the sandbox's separate 3-member store etcd and points cluster.yaml at it (spec.store);
 * sandboxDown stops it. The cluster's own etcd stays the nodes' business.
 */
export async function startSandboxStore(record: SandboxRecord, log?: Logger): Promise<SandboxRecord> {
  const first = record.nodes[0]?.address ?? '127.0.0.2';
  const members = sandboxStoreMembers(first);
  const dir = path.join(record.dir, 'store-etcd');
  await fs.mkdir(dir, { recursive: true });
  const next: SandboxRecord = { ...record, store: { dir, members } };
  // Recorded before starting, so that a failure half-way is still stopped by sandboxDown.
  await writeSandboxRecord(next);
  const endpoints = await startStoreEtcd(dir, members);
  await fs.writeFile(next.clusterFile, renderClusterYaml(next));
  log?.info({ event: 'sandbox.store.up', endpoints }, `store etcd up at ${endpoints.join(', ')}`);
  return next;
}

/** Options of sandboxUp. */
export interface SandboxUpOptions {
  dir: string;
  masters?: number;
  workers?: number;
  /** Address of node-1; the others follow (must stay inside 127.0.0.0/8). */
  firstAddress?: string;
  /** Cluster name written to cluster.yaml. */
  name?: string;
  log?: Logger;
  /** Extra sshd_config keywords for every node (tests switch features off with it). */
  sshdOptions?: Record<string, string>;
  /** Log in as this non-root user, created with password-less sudo (removed by sandboxDown). */
  user?: string;
  /** Nodes whose login environment has no Node.js. */
  withoutNode?: string[];
  /** Nodes reached through the sandbox's own bastion (an extra sshd). */
  bastionFor?: string[];
}

/** Per-node line of sandboxStatus. */
export interface SandboxNodeStatus {
  name: string;
  role: 'master' | 'worker';
  address: string;
  pid: number;
  running: boolean;
}

/** What sandboxStatus reports; `exists` is false when the dir holds no sandbox. */
export interface SandboxStatus {
  dir: string;
  exists: boolean;
  name?: string;
  created?: string;
  nodes: SandboxNodeStatus[];
}

/** Builds and starts a sandbox in `dir`; returns what it recorded in sandbox.json. */
export async function sandboxUp(options: SandboxUpOptions): Promise<SandboxRecord> {
  const dir = path.resolve(options.dir);
  const name = options.name ?? 'upgrade-demo';
  const log = options.log;
  const layout = layoutNodes({
    dir,
    masters: options.masters ?? 3,
    workers: options.workers ?? 0,
    firstAddress: options.firstAddress ?? '127.0.0.2',
  });
  const bastion = options.bastionFor?.length ? layoutBastion(dir, layout, options.bastionFor) : undefined;
  checkNodeNames('--without-node', options.withoutNode ?? [], layout);
  await prepareDir(dir, log);
  for (const node of [...layout, ...(bastion ? [bastion] : [])]) await assertAddressFree(node);
  const sshdBinary = await ensureSshd(log);

  const created = await fs.mkdir(dir, { recursive: true });
  const started: SandboxNodeRecord[] = [];
  let user: SandboxUserRecord | undefined;
  try {
    const identityFile = path.join(dir, 'id_ed25519');
    const userKey = await generateKey(identityFile, `hoist-sandbox@${name}`);
    const authorizedKeys = path.join(dir, 'authorized_keys');
    await fs.writeFile(authorizedKeys, `${userKey}\n`, { mode: 0o600 });
    if (options.user) user = await createLoginUser(options.user, dir, userKey, log);
    // sshd reads authorized keys as the login user, who cannot enter a root-only sandbox dir: its own are in its home.
    const keyFiles = user ? `${authorizedKeys} .ssh/authorized_keys` : authorizedKeys;
    const withoutNode = new Set(options.withoutNode ?? []);
    const all = [...layout, ...(bastion ? [bastion] : [])];
    const hostKeys = await Promise.all(
      all.map(async (node) => {
        const extra = { ...options.sshdOptions };
        if (withoutNode.has(node.name)) {
          // Under the user's home when there is a login user: it cannot enter the root-only sandbox dir.
          const bin = user ? path.join(user.home, `.sandbox-${node.name}-bin`) : path.join(node.nodeDir, 'bin');
          extra.SetEnv = `PATH=${await pathWithoutNode(bin)}`;
        }
        return prepareNode(node, keyFiles, extra);
      }),
    );
    for (const node of all) await validateSshdConfig(sshdBinary, node);
    for (const node of layout) await installFactoryOs(node, dir);

    const knownHostsFile = path.join(dir, 'known_hosts');
    const knownHosts = all.map((node, i) => formatKnownHostLine(node.address, node.port, hostKeys[i]!));
    await fs.writeFile(knownHostsFile, `${knownHosts.join('\n')}\n`, { mode: 0o600 });

    const results = await Promise.allSettled(
      all.map(async (node) => {
        const pid = await startSshd(sshdBinary, node);
        started.push(nodeRecord(node, pid));
        log?.info(
          { event: 'sandbox.node.up', node: node.name, address: node.address, pid },
          `${node.name}: sshd listening on ${node.address}:${node.port} (pid ${pid})`,
        );
      }),
    );
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw failed.reason;

    const byName = new Map(started.map((n) => [n.name, n]));
    const record: SandboxRecord = {
      version: 1,
      name,
      dir,
      created: new Date().toISOString(),
      sshdBinary,
      identityFile,
      knownHostsFile,
      clusterFile: path.join(dir, 'cluster.yaml'),
      nodes: layout.map((node) => ({ ...byName.get(node.name)!, ...(withoutNode.has(node.name) ? { withoutNode: true } : {}) })),
      ...(user ? { user } : {}),
      ...(bastion ? { bastion: { ...byName.get(bastion.name)!, for: options.bastionFor! } } : {}),
    };
    await writeSandboxRecord(record);
    await fs.writeFile(record.clusterFile, renderClusterYaml(record));
    log?.info({ event: 'sandbox.up', dir, nodes: layout.length }, `sandbox ${name} is up: ${record.clusterFile}`);
    return record;
  } catch (err) {
    // Leave nothing running; remove the directory only if this call created it (else it was empty).
    for (const node of started) await stopSshd(node.sshd.pid, node).catch(() => undefined);
    if (user) await removeLoginUser(user).catch(() => undefined);
    if (created !== undefined) await fs.rm(dir, { recursive: true, force: true });
    else for (const entry of await fs.readdir(dir)) await fs.rm(path.join(dir, entry), { recursive: true, force: true });
    throw err;
  }
}

function checkNodeNames(flag: string, names: string[], layout: SandboxNodeLayout[]): void {
  const unknown = names.filter((n) => !layout.some((node) => node.name === n));
  if (unknown.length > 0) {
    throw new InputError('ERR_SANDBOX_NODE_UNKNOWN', `${flag} names ${unknown.join(', ')}, not a node of this sandbox`, {
      hint: `name one of ${layout.map((n) => n.name).join(', ')}`,
    });
  }
}

/** Refuses a dir that holds a running sandbox or unrelated files; clears a dead sandbox. */
async function prepareDir(dir: string, log?: Logger): Promise<void> {
  const record = await readSandboxRecord(dir);
  if (record) {
    const status = await sandboxStatus({ dir });
    if (status.nodes.some((n) => n.running)) {
      throw new StateError('ERR_SANDBOX_RUNNING', `${dir} already holds a running sandbox (${record.name})`, {
        hint: 'run hoist sandbox down first, or use another directory',
      });
    }
    log?.info({ event: 'sandbox.stale', dir }, `removing the stopped sandbox left in ${dir}`);
    await fs.rm(dir, { recursive: true, force: true });
    return;
  }
  const entries = await fs.readdir(dir).catch(() => [] as string[]);
  if (entries.length > 0) {
    throw new InputError('ERR_SANDBOX_DIR_NOT_EMPTY', `${dir} is not empty and holds no sandbox`, {
      hint: 'choose a new or empty directory for the sandbox (sandbox down removes it)',
    });
  }
}

/** Creates the node's directories, host key and sshd_config; returns the host key blob. */
async function prepareNode(node: SandboxNodeLayout, authorizedKeys: string, extra: Record<string, string>): Promise<Buffer> {
  for (const sub of [node.nodeStateDir, path.dirname(node.sshd.pidFile), path.dirname(node.sshd.logFile), path.dirname(node.sshd.config)]) {
    await fs.mkdir(sub, { recursive: true });
  }
  const pub = await generateKey(node.sshd.hostKey, `${node.name}-host-key`);
  await fs.writeFile(node.sshd.config, renderSshdConfig(node, authorizedKeys, extra));
  return Buffer.from(pub.split(/\s+/)[1] ?? '', 'base64');
}

function nodeRecord(node: SandboxNodeLayout, pid: number): SandboxNodeRecord {
  return {
    name: node.name,
    role: node.role,
    address: node.address,
    port: node.port,
    nodeDir: node.nodeDir,
    nodeStateDir: node.nodeStateDir,
    sshd: { pid, ...node.sshd },
  };
}

/** Stops the sandbox's sshd processes (only those it started) and removes `dir`; idempotent. */
export async function sandboxDown(options: { dir: string; log?: Logger }): Promise<{ removed: boolean }> {
  const dir = path.resolve(options.dir);
  const record = await readSandboxRecord(dir);
  // No record: nothing of ours is there. The directory is not removed, as it may not be ours.
  if (!record) return { removed: false };
  await stopSandboxServices(record, options.log);
  if (record.store) await stopStoreEtcd(record.store.dir, record.store.members);
  await Promise.all(
    record.nodes.map(async (node) => {
      const stopped = await stopSshd(node.sshd.pid, node);
      const what = stopped ? `stopped sshd (pid ${node.sshd.pid})` : `sshd (pid ${node.sshd.pid}) was not running`;
      options.log?.info({ event: 'sandbox.node.down', node: node.name, pid: node.sshd.pid, stopped }, `${node.name}: ${what}`);
    }),
  );
  if (record.bastion) await stopSshd(record.bastion.sshd.pid, record.bastion);
  if (record.user) await removeLoginUser(record.user, options.log);
  await fs.rm(dir, { recursive: true, force: true });
  options.log?.info({ event: 'sandbox.down', dir }, `sandbox ${record.name} removed`);
  return { removed: true };
}

/** Reports every node of the sandbox in `dir` and whether its sshd runs. */
export async function sandboxStatus(options: { dir: string }): Promise<SandboxStatus> {
  const dir = path.resolve(options.dir);
  const record = await readSandboxRecord(dir);
  if (!record) return { dir, exists: false, nodes: [] };
  const nodes = await Promise.all(
    record.nodes.map(async (n) => ({
      name: n.name,
      role: n.role,
      address: n.address,
      pid: n.sshd.pid,
      running: await isSandboxSshd(n.sshd.pid, n.sshd.config),
    })),
  );
  return { dir, exists: true, name: record.name, created: record.created, nodes };
}
