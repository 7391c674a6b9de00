/**
 * One `kubectl proxy` per node state dir, started by the first Kubernetes API call of a run and
 * reused by the calls that follow, so that a taint, an uncordon or an endpoints check is an HTTP
 * request instead of a kubectl process. kubectl keeps doing the authentication of the node's
 * kubeconfig (certificates, tokens, exec plugins). It listens on a Unix socket in
 * `<stateDir>/kube` (mode 0600 in a directory of the agent's user), not on a TCP port that every
 * local user could reach with the kubeconfig's credentials.
 *
 * Lifetime: the proxy stops when it has been idle for `PROXY_IDLE_MS`, when no client has stayed
 * connected to the agent (server.ts: the run ended, or its orchestrator was killed), when the
 * agent stops, and, whatever kills the agent, with it: kubectl runs under a shell that holds a
 * pipe from the agent and stops kubectl when that pipe closes. A proxy that died is started again
 * by the next call, which says so in the log.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { promises as fs } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { KubeError } from '../kube/errors.js';
import { KILL_GRACE_MS, killGroup } from '../process-group.js';

/** A proxy nobody called for this long is stopped; the next call starts it again. */
export const PROXY_IDLE_MS = 60_000;
const READY_TIMEOUT_MS = 20_000;
const REQUEST_TIMEOUT_MS = 60_000;
// sun_path holds 108 bytes on Linux, the terminating NUL included.
const MAX_SOCKET_PATH_BYTES = 107;

/**
 * kubectl under a shell that ends with it: a reader waits on the shell's stdin (the agent's pipe)
 * and stops kubectl when that pipe closes (the agent exited, even by SIGKILL); when kubectl exits
 * by itself, the shell stops the reader and exits too, so the agent sees the proxy die.
 */
const WATCHDOG =
  'exec 3<&0; bin=$1; shift; "$bin" "$@" </dev/null & k=$!; (read -r _ <&3; kill $k 2>/dev/null) & r=$!; wait $k; s=$?; kill $r 2>/dev/null; exit $s';

/** One API request through the proxy. */
export interface ProxyRequest {
  method: 'GET' | 'PATCH';
  /** Path and query under the API root (`/api/v1/nodes/node-1`). */
  path: string;
  /** Content type of a PATCH body. */
  contentType?: string;
  body?: string;
  timeoutMs?: number;
}

/** The API's answer, whatever its status. */
export interface ProxyAnswer {
  status: number;
  body: string;
  /** True when this call had to start the proxy (first call of a run, or after the proxy died). */
  started: boolean;
}

/** Where a call's log lines go (the execution's log when run by the agent). */
export type ProxyLog = (level: 'info' | 'warn', message: string) => void;

interface Running {
  child: ChildProcess;
  agent: http.Agent;
  exited: Promise<void>;
  stderr: string[];
}

/** Options of a KubeProxy. */
export interface KubeProxyOptions {
  kubeconfig: string;
  socketPath: string;
  cacheDir?: string;
  kubectl?: string;
}

/** The proxy of one kubeconfig. */
export class KubeProxy {
  private running?: Promise<Running>;
  private idle?: NodeJS.Timeout;
  private readonly inFlight = new Set<Promise<unknown>>();
  /** How the last proxy ended when nobody stopped it; the next start says so. */
  private died?: string;

  constructor(private readonly options: KubeProxyOptions) {}

  /** Sends `req` through the proxy, starting it first if it is not running. */
  async request(req: ProxyRequest, signal: AbortSignal, log: ProxyLog): Promise<ProxyAnswer> {
    let started = false;
    for (let attempt = 1; ; attempt++) {
      if (!this.running) {
        started = true;
        if (this.died) log('warn', `kubectl proxy ${this.died}; starting it again`);
        this.died = undefined;
        this.running = this.start(log);
        this.running.catch(() => (this.running = undefined));
      }
      const proxy = await this.running;
      clearTimeout(this.idle);
      const call = send(this.options.socketPath, proxy.agent, req, signal);
      this.inFlight.add(call);
      try {
        return { ...(await call), started };
      } catch (err) {
        if (signal.aborted || attempt > 1) throw transportError(err, proxy);
        log('warn', `kubectl proxy stopped answering (${(err as Error).message}); starting it again`);
        await this.stop();
      } finally {
        this.inFlight.delete(call);
        if (!this.inFlight.size) this.idle = setTimeout(() => void this.stop(), PROXY_IDLE_MS).unref();
      }
    }
  }

  /** True while a proxy process runs (or is starting). */
  get active(): boolean {
    return this.running !== undefined;
  }

  /** Stops the proxy once the requests in flight have their answers. */
  async stop(): Promise<void> {
    clearTimeout(this.idle);
    const running = this.running;
    this.running = undefined;
    if (!running) return;
    await Promise.allSettled([...this.inFlight]);
    const proxy = await running.catch(() => undefined);
    if (!proxy) return;
    proxy.agent.destroy();
    killGroup(proxy.child.pid, 'SIGTERM');
    const grace = setTimeout(() => killGroup(proxy.child.pid, 'SIGKILL'), KILL_GRACE_MS);
    await proxy.exited;
    clearTimeout(grace);
  }

  private async start(log: ProxyLog): Promise<Running> {
    const { socketPath, kubeconfig } = this.options;
    if (Buffer.byteLength(socketPath) > MAX_SOCKET_PATH_BYTES) {
      throw unavailable(`its socket path ${socketPath} is longer than ${MAX_SOCKET_PATH_BYTES} bytes`);
    }
    await fs.mkdir(path.dirname(socketPath), { recursive: true, mode: 0o700 });
    await fs.rm(socketPath, { force: true });
    const args = [
      '--kubeconfig',
      kubeconfig,
      ...(this.options.cacheDir ? ['--cache-dir', this.options.cacheDir] : []),
      'proxy',
      `--unix-socket=${socketPath}`,
    ];
    const child = spawn('sh', ['-c', WATCHDOG, 'sh', this.options.kubectl ?? 'kubectl', ...args], {
      detached: true,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    const stderr: string[] = [];
    const exited = new Promise<void>((resolve) => child.once('close', () => resolve()));
    child.stderr?.on('data', (chunk: Buffer) => {
      stderr.push(...chunk.toString('utf8').split('\n').filter(Boolean));
      stderr.splice(0, Math.max(0, stderr.length - 5));
    });
    // The pipe stays open for the proxy's life; errors on it mean the shell is gone, which `exited` reports.
    child.stdin?.on('error', () => undefined);
    child.once('close', (code, signal) => {
      if (this.running !== current) return;
      this.running = undefined;
      this.died = `(pid ${child.pid}) exited by itself (${signal ?? `exit ${code}`}${stderr.length ? `: ${stderr[stderr.length - 1]}` : ''})`;
    });
    const current = this.waitReady(child, exited, stderr).then(async () => {
      await fs.chmod(socketPath, 0o600);
      log('info', `kubectl proxy started (pid ${child.pid}) on ${socketPath}`);
      return { child, exited, stderr, agent: new http.Agent({ keepAlive: true, maxSockets: 32 }) };
    });
    current.catch(() => killGroup(child.pid, 'SIGKILL'));
    return current;
  }

  /** Resolves once kubectl printed `Starting to serve on`; rejects if it exits or stays silent. */
  private waitReady(child: ChildProcess, exited: Promise<void>, stderr: string[]): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      let out = '';
      const timer = setTimeout(
        () => reject(unavailable(`kubectl proxy did not start within ${READY_TIMEOUT_MS / 1000}s`)),
        READY_TIMEOUT_MS,
      );
      child.stdout?.on('data', (chunk: Buffer) => {
        out += chunk.toString('utf8');
        if (/Starting to serve on/.test(out)) {
          clearTimeout(timer);
          resolve();
        }
      });
      child.once('error', (err) => reject(unavailable(`sh could not be started: ${err.message}`)));
      void exited.then(() => {
        clearTimeout(timer);
        reject(unavailable(`kubectl proxy exited: ${stderr[stderr.length - 1] ?? `exit ${child.exitCode}`}`));
      });
    });
  }
}

function unavailable(why: string): KubeError {
  return new KubeError('ERR_KUBE_PROXY_UNAVAILABLE', `the kubectl proxy is unavailable: ${why}`, {
    hint: 'hoist runs kubectl for each call instead; check kubectl on the node',
  });
}

/** A request that failed below HTTP twice: the proxy cannot be reached. */
function transportError(err: unknown, proxy: Running): KubeError {
  const last = proxy.stderr[proxy.stderr.length - 1];
  return unavailable(`${(err as Error).message}${last ? ` (kubectl: ${last})` : ''}`);
}

function send(socketPath: string, agent: http.Agent, req: ProxyRequest, signal: AbortSignal): Promise<Omit<ProxyAnswer, 'started'>> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = { accept: 'application/json' };
    if (req.body !== undefined) {
      headers['content-type'] = req.contentType ?? 'application/merge-patch+json';
      headers['content-length'] = String(Buffer.byteLength(req.body));
    }
    const r = http.request(
      { socketPath, agent, method: req.method, path: req.path, headers, signal, timeout: req.timeoutMs ?? REQUEST_TIMEOUT_MS },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      },
    );
    r.on('timeout', () => r.destroy(new Error(`no answer within ${(req.timeoutMs ?? REQUEST_TIMEOUT_MS) / 1000}s`)));
    r.on('error', reject);
    r.end(req.body);
  });
}

const proxies = new Map<string, KubeProxy>();

/** The proxy of a node state dir (its kubeconfig at `<stateDir>/kube/kubeconfig`). */
export function kubeProxyOf(stateDir: string): KubeProxy {
  let proxy = proxies.get(stateDir);
  if (!proxy) {
    const dir = path.join(stateDir, 'kube');
    proxy = new KubeProxy({
      kubeconfig: path.join(dir, 'kubeconfig'),
      cacheDir: path.join(dir, 'cache'),
      socketPath: path.join(dir, 'proxy.sock'),
    });
    proxies.set(stateDir, proxy);
  }
  return proxy;
}

/** Stops every proxy of this process; resolves with how many were running. */
export async function stopKubeProxies(): Promise<number> {
  const active = [...proxies.values()].filter((p) => p.active);
  await Promise.all(active.map((p) => p.stop()));
  return active.length;
}
