/**
 * How many kubectl processes an upgrade started on a node, read from the node's execution records
 * (`<nodeStateDir>/agent/executions/*`): each `kube.run` is one kubectl, and each `kube.api` that
 * had to start the kubectl proxy is one more; the other `kube.api` calls started no process.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';

/** kubectl processes and API calls of one node. */
export interface KubectlCount {
  /** `kube.run` executions: one kubectl process each. */
  runs: number;
  /** `kube.api` executions that started a kubectl proxy. */
  proxyStarts: number;
  /** `kube.api` executions: requests through the proxy. */
  apiCalls: number;
}

/** Counts the Kubernetes executions recorded under a node state dir. */
export async function countKubectl(nodeStateDir: string): Promise<KubectlCount> {
  const root = path.join(nodeStateDir, 'agent', 'executions');
  const count: KubectlCount = { runs: 0, proxyStarts: 0, apiCalls: 0 };
  for (const id of await fs.readdir(root).catch(() => [] as string[])) {
    const read = (file: string) => fs.readFile(path.join(root, id, file), 'utf8').then(JSON.parse, () => undefined);
    const request = (await read('request.json')) as { action?: string } | undefined;
    if (request?.action === 'kube.run') count.runs++;
    if (request?.action !== 'kube.api') continue;
    count.apiCalls++;
    const result = (await read('result.json')) as { data?: { started?: boolean } } | undefined;
    if (result?.data?.started) count.proxyStarts++;
  }
  return count;
}
