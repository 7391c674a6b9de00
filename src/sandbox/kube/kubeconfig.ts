/**
 * Kubeconfig for the emulator: one cluster, one context, a user with no credentials (plain HTTP).
 * Written as JSON (a YAML subset kubectl reads), so the emulator bundles without a YAML library.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';

/** Name used for the cluster, user and context entries. */
export const KUBECONFIG_CONTEXT = 'hoist-sandbox';

/** The kubeconfig text pointing at `url`. */
export function renderKubeconfig(url: string): string {
  const config = {
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: KUBECONFIG_CONTEXT, cluster: { server: url } }],
    users: [{ name: KUBECONFIG_CONTEXT, user: {} }],
    contexts: [{ name: KUBECONFIG_CONTEXT, context: { cluster: KUBECONFIG_CONTEXT, user: KUBECONFIG_CONTEXT, namespace: 'default' } }],
    'current-context': KUBECONFIG_CONTEXT,
    preferences: {},
  };
  return `${JSON.stringify(config, null, 2)}\n`;
}

/** Writes a kubeconfig for `url` to `file` (mode 0600, parent directories created). */
export async function writeKubeconfig(file: string, url: string): Promise<void> {
  await fs.mkdir(path.dirname(file), { recursive: true });
  await fs.writeFile(file, renderKubeconfig(url), { mode: 0o600 });
}
