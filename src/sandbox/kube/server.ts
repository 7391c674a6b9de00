/**
 * The sandbox's Kubernetes API emulator: a plain-HTTP server, state in memory, that the real
 * kubectl accepts for what hoist does (nodes, pods, evictions under PodDisruptionBudgets, jobs,
 * RBAC, configmaps, services, endpoints). Loopback only.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { discovery } from './discovery.js';
import { type HandlerContext, handleResource } from './handlers.js';
import { JobController } from './jobs.js';
import { BudgetController, type EvictionStats } from './pdb.js';
import { readStateFile, StatePersister } from './persist.js';
import { type KubeObject, parseResourcePath, type ResourceDef } from './resources.js';
import { ApiFailure, sendFailure, sendJson } from './status.js';
import { ObjectStore, resourceOfKind } from './store.js';

/** Minimal logger shape (a pino Logger fits). */
export interface EmulatorLog {
  debug(fields: object, message?: string): void;
  warn(fields: object, message?: string): void;
}

/** Options of startKubeEmulator. */
export interface KubeEmulatorOptions {
  /** Must be a loopback address (default 127.0.0.1). */
  host?: string;
  /** 0 (default) picks a free port. */
  port?: number;
  /** Objects to start with (see defaultSeed). Ignored when `stateFile` already holds a state. */
  seed?: KubeObject[];
  /** Release a budget this long after it first refused an eviction; never when unset. */
  pdbReleaseMs?: number;
  /** Persist every change to this JSON file and start from it when it exists. */
  stateFile?: string;
  log?: EmulatorLog;
}

/** Test access to the emulator's state. */
export interface EmulatorState {
  get(kind: string, namespace: string | undefined, name: string): KubeObject | undefined;
  list(kind: string, namespace?: string): KubeObject[];
  /** Adds or replaces an object as a controller would (watches see it). */
  put(object: KubeObject): KubeObject;
  delete(kind: string, namespace: string | undefined, name: string): boolean;
  /** Lets the named budget allow a disruption. */
  releaseBudget(namespace: string, name: string): boolean;
  /** Evictions refused (429) and done so far. */
  readonly evictions: EvictionStats;
}

/** A running emulator. */
export interface KubeEmulator {
  url: string;
  port: number;
  state: EmulatorState;
  close(): Promise<void>;
}

function assertLoopback(host: string): void {
  if (!/^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host) && host !== 'localhost' && host !== '::1') {
    throw new Error(`the Kubernetes API emulator listens on loopback addresses only, not ${host}`);
  }
}

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** Starts the emulator; resolves once it listens. */
export async function startKubeEmulator(options: KubeEmulatorOptions = {}): Promise<KubeEmulator> {
  const host = options.host ?? '127.0.0.1';
  assertLoopback(host);
  const store = new ObjectStore();
  const saved = options.stateFile ? readStateFile(options.stateFile) : undefined;
  const skipped = saved ? store.load(saved.objects, saved.resourceVersion) : store.load(options.seed ?? []);
  if (skipped.length)
    options.log?.warn(
      { event: 'kube.emulator.skipped', skipped },
      `kube emulator: skipped objects of unknown kinds: ${skipped.join(', ')}`,
    );

  const budgets = new BudgetController(store, options.pdbReleaseMs);
  const jobs = new JobController(store);
  const persister = options.stateFile
    ? new StatePersister(store, options.stateFile, (err) =>
        options.log?.warn({ event: 'kube.emulator.persist', err }, 'kube emulator: could not write its state file'),
      )
    : undefined;
  if (persister) await persister.flush();
  const ctx: HandlerContext = { store, budgets, watches: new Set() };

  const server = createServer((req, res) => {
    void serve(ctx, req, res, host, options.log);
  });
  // kubectl keeps connections alive; close() must not wait for them.
  server.keepAliveTimeout = 5000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;

  const kind = (k: string): ResourceDef => resourceOfKind(k);
  const state: EmulatorState = {
    get: (k, ns, name) => store.get(kind(k), ns, name),
    list: (k, ns) => store.list(kind(k), ns),
    put: (object) => store.put(kind(object.kind), object),
    delete: (k, ns, name) => store.delete(kind(k), ns, name) !== undefined,
    releaseBudget: (ns, name) => budgets.releaseBudget(ns, name),
    evictions: budgets.stats,
  };

  let closed = false;
  const close = async (): Promise<void> => {
    if (closed) return;
    closed = true;
    jobs.close();
    budgets.close();
    for (const res of ctx.watches) res.end();
    ctx.watches.clear();
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
    await persister?.close();
  };
  return { url, port, state, close };
}

async function serve(ctx: HandlerContext, req: IncomingMessage, res: ServerResponse, host: string, log?: EmulatorLog): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://emulator');
  try {
    const body = await readBody(req);
    log?.debug(
      { event: 'kube.emulator.request', method: req.method, url: req.url, contentType: req.headers['content-type'] },
      `${req.method} ${req.url}`,
    );
    if (['/healthz', '/readyz', '/livez'].includes(url.pathname)) {
      res.writeHead(200, { 'Content-Type': 'text/plain' });
      res.end('ok');
      return;
    }
    const target = parseResourcePath(url.pathname);
    if (target) {
      await handleResource(ctx, { req, res, target, query: url.searchParams, body });
      return;
    }
    const doc = req.method === 'GET' ? discovery(url.pathname, `${host}:${(req.socket.localPort ?? 0).toString()}`) : undefined;
    if (doc) return sendJson(res, 200, doc);
    throw new ApiFailure(404, 'NotFound', 'the server could not find the requested resource');
  } catch (err) {
    if (res.headersSent) {
      res.end();
      return;
    }
    if (err instanceof ApiFailure) return sendFailure(res, err);
    log?.warn({ event: 'kube.emulator.error', err, url: req.url }, `kube emulator: ${req.method} ${req.url} failed`);
    sendFailure(res, new ApiFailure(500, 'InternalError', err instanceof Error ? err.message : String(err)));
  }
}
