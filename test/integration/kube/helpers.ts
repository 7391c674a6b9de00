/** Shared setup for the Kubernetes tests: an emulator with the default seed and a kubectl bound to it. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { defaultSeed, type KubeEmulator, type SeedNode, startKubeEmulator, writeKubeconfig } from '../../../src/sandbox/kube/index.js';

/** The nodes every Kubernetes test seeds: two masters and a worker that runs `guarded-1`. */
export const NODES: SeedNode[] = [
  { name: 'node-1', address: '127.0.0.2', role: 'master' },
  { name: 'node-2', address: '127.0.0.3', role: 'master' },
  { name: 'node-3', address: '127.0.0.4', role: 'worker' },
];

/** A running emulator, its kubeconfig and a kubectl wrapper; `stop()` tears it down. */
export interface KubeFixture {
  emulator: KubeEmulator;
  dir: string;
  kubeconfig: string;
  kubectl(args: string[], opts?: { input?: string }): Promise<{ exitCode: number; stdout: string; stderr: string }>;
  stop(): Promise<void>;
}

/** Starts an emulator on 127.0.0.1 with a free port. */
export async function startFixture(options: { pdbReleaseMs?: number } = {}): Promise<KubeFixture> {
  const dir = mkdtempSync(path.join(tmpdir(), 'hoist-kube-test-'));
  const emulator = await startKubeEmulator({ seed: defaultSeed(NODES), ...options });
  const kubeconfig = path.join(dir, 'kubeconfig');
  await writeKubeconfig(kubeconfig, emulator.url);
  return {
    emulator,
    dir,
    kubeconfig,
    async kubectl(args, opts = {}) {
      const r = await execa('kubectl', ['--kubeconfig', kubeconfig, '--cache-dir', path.join(dir, 'cache'), ...args], {
        reject: false,
        ...(opts.input !== undefined ? { input: opts.input } : {}),
      });
      return { exitCode: r.exitCode ?? -1, stdout: String(r.stdout), stderr: String(r.stderr) };
    },
    async stop() {
      await emulator.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Resolves once `check` is true, polling every 50 ms (bounded by the test's own timeout). */
export async function until(check: () => boolean): Promise<void> {
  while (!check()) await new Promise((r) => setTimeout(r, 50));
}

/** A batch/v1 Job manifest whose emulated outcome and log are set by annotations. */
export function jobManifest(name: string, annotations: Record<string, string> = {}): string {
  const ann = Object.entries(annotations)
    .map(([k, v]) => `    ${k}: ${JSON.stringify(v)}`)
    .join('\n');
  return `apiVersion: batch/v1
kind: Job
metadata:
  name: ${name}
${ann ? `  annotations:\n${ann}\n` : ''}spec:
  template:
    metadata:
      name: ${name}
    spec:
      restartPolicy: OnFailure
      containers:
        - name: ${name}
          image: quay.io/gravitational/debian-tall:stretch
          command: [/usr/local/bin/helm, upgrade, --set, registry=registry.local:5000/, example, /var/lib/gravity/resources/charts/alpine]
`;
}
