/** Applying and deleting an app's Kubernetes resources (`kubectl apply -f -`, client-side, no OpenAPI validation). */
import { kubectl } from './kubectl.js';
import type { KubeCallOptions, KubectlRunner } from './runner.js';

/** Options of applyResources / deleteResources. */
export interface ResourcesOptions extends KubeCallOptions {
  /** Namespace for objects that name none. */
  namespace?: string;
}

function namespaceArgs(opts: ResourcesOptions): string[] {
  return opts.namespace ? ['-n', opts.namespace] : [];
}

function outputLines(stdout: string): string[] {
  return stdout
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean);
}

/** Creates or updates every object in `yaml`; returns kubectl's lines (`configmap/x created`, `… configured`). */
export async function applyResources(runner: KubectlRunner, yaml: string, opts: ResourcesOptions = {}): Promise<string[]> {
  const result = await kubectl(runner, 'apply resources', ['apply', '-f', '-', '--validate=false', ...namespaceArgs(opts)], {
    stdin: yaml,
    ...(opts.signal ? { signal: opts.signal } : {}),
  });
  return outputLines(result.stdout);
}

/** Deletes every object in `yaml`; objects already gone are fine. */
export async function deleteResources(runner: KubectlRunner, yaml: string, opts: ResourcesOptions = {}): Promise<string[]> {
  const result = await kubectl(
    runner,
    'delete resources',
    ['delete', '-f', '-', '--ignore-not-found', '--wait=false', ...namespaceArgs(opts)],
    {
      stdin: yaml,
      ...(opts.signal ? { signal: opts.signal } : {}),
    },
  );
  return outputLines(result.stdout);
}
