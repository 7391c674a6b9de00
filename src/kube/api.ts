/**
 * The Kubernetes API reached without kubectl: the lead master's agent sends these requests through
 * one long-lived `kubectl proxy` (agent/kube-proxy.ts). A runner that has an `api` does node
 * patches and endpoints reads through it; drain, Jobs and manifests stay with kubectl. An answer
 * that is an error becomes exactly the KubeError kubectl would have produced for the same step,
 * so operators read the same codes and messages either way.
 */
import { KubeError } from './errors.js';
import { kubectlFailure } from './kubectl.js';
import type { KubeCallOptions, KubectlResult, KubectlRunner } from './runner.js';

/** One request under the API root. */
export interface KubeApiRequest {
  method: 'GET' | 'PATCH';
  /** Path and query (`/api/v1/nodes/node-1`), names already URI-encoded. */
  path: string;
  /** Patch flavour of a PATCH body (default merge). */
  patch?: 'merge' | 'strategic';
  body?: unknown;
}

/** The API's answer, whatever its status. */
export interface KubeApiResponse {
  status: number;
  body: string;
}

/** Requests to the cluster API. */
export interface KubeApi {
  request(req: KubeApiRequest, opts?: KubeCallOptions): Promise<KubeApiResponse>;
}

/** The API path cannot be used now (no proxy could be started): the step runs kubectl instead. */
export class KubeApiUnavailableError extends Error {
  override readonly name = 'KubeApiUnavailableError';
}

interface Status {
  kind?: string;
  reason?: string;
  message?: string;
}

/**
 * What kubectl prints for the same answer: `Error from server (NotFound): nodes "x" not found`
 * for a Status, `Unable to connect to the server: …` when the proxy could not reach the API.
 */
export function asKubectlResult(res: KubeApiResponse): KubectlResult {
  let status: Status | undefined;
  try {
    status = JSON.parse(res.body) as Status;
  } catch {
    status = undefined;
  }
  const line =
    status?.kind === 'Status'
      ? `Error from server (${status.reason || 'Unknown'}): ${status.message ?? `HTTP ${res.status}`}`
      : `Unable to connect to the server: ${res.body.trim().split('\n').pop() || `HTTP ${res.status}`}`;
  return { exitCode: 1, stdout: '', stderr: `${line}\n` };
}

/**
 * Sends `req` and parses a 2xx answer; any other answer throws the error the kubectl command
 * `args` gives for it (`what` says what was attempted, as for kubectl()).
 */
export async function apiJson<T>(api: KubeApi, what: string, args: string[], req: KubeApiRequest, opts: KubeCallOptions = {}): Promise<T> {
  const res = await api.request(req, opts);
  if (res.status < 200 || res.status > 299) throw kubectlFailure(what, args, asKubectlResult(res));
  try {
    return JSON.parse(res.body) as T;
  } catch {
    throw new KubeError('ERR_KUBE_BAD_OUTPUT', `could not ${what}: the API answered something that is not JSON`, {
      hint: 'check the API server on the lead master, then re-run the phase',
    });
  }
}

/** Runs `viaApi` when the runner has an API path, `viaKubectl` when it has none or it is unavailable. */
export async function preferApi<T>(runner: KubectlRunner, viaApi: (api: KubeApi) => Promise<T>, viaKubectl: () => Promise<T>): Promise<T> {
  if (!runner.api) return viaKubectl();
  try {
    return await viaApi(runner.api);
  } catch (err) {
    if (err instanceof KubeApiUnavailableError) return viaKubectl();
    throw err;
  }
}

/** `/api/v1/<plural>/<name>` of a cluster-scoped core object. */
export function corePath(plural: string, name: string): string {
  return `/api/v1/${plural}/${encodeURIComponent(name)}`;
}
