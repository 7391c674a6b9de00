/**
 * `endpoints`: wait until the cluster's key services have ready endpoints again after a node
 * came back (Gravity: `app=gravity-site`, `k8s-app=kube-dns`, and for workers
 * `k8s-app=kube-dns-worker`), at most 5 minutes.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { apiJson, preferApi } from './api.js';
import { KubeError } from './errors.js';
import { kubectlJson } from './kubectl.js';
import type { KubeCallOptions, KubectlRunner } from './runner.js';

/** Services to wait for: by label selector or by name, in a namespace (default kube-system). */
export interface EndpointsTarget {
  namespace?: string;
  selector?: string;
  name?: string;
}

/** Options of waitEndpoints. */
export interface WaitEndpointsOptions extends KubeCallOptions {
  timeoutMs?: number;
  intervalMs?: number;
  onProgress?: (line: string) => void;
}

/** Default bound of the wait (Gravity: 5 min). */
export const ENDPOINTS_TIMEOUT_MS = 5 * 60 * 1000;

/** What Gravity waits for after a master (`worker: false`) or a worker came back. */
export function defaultEndpointTargets(role: 'master' | 'worker'): EndpointsTarget[] {
  return [
    { selector: 'app=gravity-site' },
    { selector: 'k8s-app=kube-dns' },
    ...(role === 'worker' ? [{ selector: 'k8s-app=kube-dns-worker' }] : []),
  ];
}

/** Accepts `app=x` (selector) or `[namespace/]name` strings as well as target objects. */
function toTarget(target: string | EndpointsTarget): Required<Pick<EndpointsTarget, 'namespace'>> & EndpointsTarget {
  if (typeof target !== 'string') return { ...target, namespace: target.namespace ?? 'kube-system' };
  if (target.includes('=')) return { namespace: 'kube-system', selector: target };
  const [ns, name] = target.includes('/') ? target.split('/', 2) : ['kube-system', target];
  return { namespace: ns!, name: name! };
}

function describe(t: EndpointsTarget): string {
  return t.selector ? `${t.namespace}/${t.selector}` : `${t.namespace}/${t.name}`;
}

interface EndpointsObject {
  subsets?: { addresses?: unknown[] }[];
}

async function isReady(runner: KubectlRunner, t: EndpointsTarget, opts: KubeCallOptions): Promise<boolean> {
  const select = t.name ? ['--field-selector', `metadata.name=${t.name}`] : ['-l', t.selector ?? ''];
  const what = `list endpoints ${describe(t)}`;
  const args = ['get', 'endpoints', '-n', t.namespace!, ...select];
  const query = t.name
    ? `fieldSelector=${encodeURIComponent(`metadata.name=${t.name}`)}`
    : `labelSelector=${encodeURIComponent(t.selector ?? '')}`;
  const list = await preferApi(
    runner,
    (api) =>
      apiJson<{ items: EndpointsObject[] }>(
        api,
        what,
        [...args, '-o', 'json'],
        { method: 'GET', path: `/api/v1/namespaces/${encodeURIComponent(t.namespace!)}/endpoints?${query}` },
        opts,
      ),
    () => kubectlJson<{ items: EndpointsObject[] }>(runner, what, args, opts),
  );
  return list.items.some((e) => (e.subsets ?? []).some((s) => (s.addresses ?? []).length > 0));
}

/** Resolves once every target has at least one ready address; throws ERR_KUBE_ENDPOINTS_TIMEOUT otherwise. */
export async function waitEndpoints(
  runner: KubectlRunner,
  services: (string | EndpointsTarget)[],
  opts: WaitEndpointsOptions = {},
): Promise<void> {
  const timeoutMs = opts.timeoutMs ?? ENDPOINTS_TIMEOUT_MS;
  const intervalMs = opts.intervalMs ?? 2000;
  const call: KubeCallOptions = opts.signal ? { signal: opts.signal } : {};
  let pending = services.map(toTarget);
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const states = await Promise.all(pending.map((t) => isReady(runner, t, call)));
    pending = pending.filter((_, i) => !states[i]);
    if (!pending.length) return;
    if (Date.now() >= deadline) {
      throw new KubeError(
        'ERR_KUBE_ENDPOINTS_TIMEOUT',
        `endpoints not ready after ${Math.round(timeoutMs / 1000)}s: ${pending.map(describe).join(', ')}`,
        {
          hint: 'check the pods behind these services (kubectl get pods -A -o wide), then re-run the phase',
        },
      );
    }
    opts.onProgress?.(`waiting for endpoints: ${pending.map(describe).join(', ')}`);
    await sleep(Math.min(intervalMs, Math.max(0, deadline - Date.now())), undefined, call.signal ? { signal: call.signal } : {});
  }
}
