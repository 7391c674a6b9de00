/**
 * `kube.api`: one request to the cluster API through the node's kubectl proxy (kube-proxy.ts):
 * what the Kubernetes phases read and patch (nodes, endpoints) without a kubectl process per call.
 * Only GET and PATCH under the API roots; the status and body come back as they are, and the
 * orchestrator's kube operations judge them as they judge kubectl's exit and stderr.
 */
import { z } from 'zod';
import { kubeProxyOf } from '../kube-proxy.js';
import { defineAction } from './types.js';

/** Result of `kube.api`. */
export interface KubeApiResult {
  status: number;
  body: string;
  /** This call started the proxy (counted by `npm run bench:scale`). */
  started: boolean;
}

const PATCH_TYPES = {
  merge: 'application/merge-patch+json',
  strategic: 'application/strategic-merge-patch+json',
} as const;

/** Sends one API request through the node's kubectl proxy. */
export const kubeApiAction = defineAction({
  name: 'kube.api',
  description: 'call the cluster API through the kubectl proxy',
  params: z.object({
    method: z.enum(['GET', 'PATCH']),
    path: z
      .string()
      .max(4096)
      .regex(/^\/apis?\/[A-Za-z0-9._~%!$&'()*+,;=:@/?-]*$/, 'expected a path under /api/ or /apis/'),
    patch: z.enum(['merge', 'strategic']).optional(),
    body: z
      .string()
      .max(256 * 1024)
      .optional(),
    timeoutSeconds: z.number().positive().max(3600).optional(),
  }),
  async run(ctx, p): Promise<KubeApiResult> {
    return kubeProxyOf(ctx.stateDir).request(
      {
        method: p.method,
        path: p.path,
        ...(p.body !== undefined ? { body: p.body, contentType: PATCH_TYPES[p.patch ?? 'merge'] } : {}),
        ...(p.timeoutSeconds ? { timeoutMs: p.timeoutSeconds * 1000 } : {}),
      },
      ctx.signal,
      ctx.log,
    );
  },
});
