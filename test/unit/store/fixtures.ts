/** Shared fixtures for the store tests: temp state dirs, records, and a bundled store for child processes. */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import type { Plan } from '../../../src/plan/types.js';
import type { OperationRecord } from '../../../src/store/store.js';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

/** A fresh temp directory; remove it with `cleanup`. */
export async function tempDir(): Promise<string> {
  return mkdtemp(path.join(os.tmpdir(), 'hoist-store-'));
}

/** Removes a temp directory. */
export async function cleanup(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true });
}

/** An operation record for cluster `demo`. */
export function operation(id: string, created = '2024-05-01T10:00:00.000Z'): OperationRecord {
  return {
    id,
    type: 'upgrade',
    cluster: 'demo',
    state: 'in_progress',
    from: '1.0.0',
    to: '2.0.0',
    image: 'demo-app',
    mode: 'manual',
    created,
    updated: created,
    createdBy: { host: 'h1', pid: 42, user: 'ops' },
  };
}

/** A two-level plan matching `operation(id)`. */
export function plan(id: string): Plan {
  return {
    operationId: id,
    operationType: 'upgrade',
    cluster: 'demo',
    createdAt: '2024-05-01T10:00:00.000Z',
    from: '1.0.0',
    to: '2.0.0',
    leader: 'node-1',
    servers: [{ name: 'node-1', address: '127.0.0.2', role: 'master' }],
    phases: [
      {
        id: '/init',
        description: 'Initialize',
        requires: [],
        phases: [
          { id: '/init/node-1', executor: 'init', description: 'Init node-1', node: 'node-1', requires: [], data: { leader: true } },
        ],
      },
      { id: '/checks', executor: 'checks', description: 'Run checks', node: 'node-1', requires: ['/init'] },
      // Leaves the changelog tests append to: a change must name a phase of the plan.
      ...['/a', '/b', '/c', '/d', '/after', ...Array.from({ length: 50 }, (_, i) => `/p${i}`)].map((id) => ({
        id,
        executor: 'health',
        description: id,
        requires: [],
      })),
    ],
  };
}

/** Bundles the JSON store to one ESM file that plain `node` child processes can import. */
export async function bundleStore(outDir: string): Promise<string> {
  const outfile = path.join(outDir, 'json-store.mjs');
  await build({
    entryPoints: [path.join(repoRoot, 'src/store/json-store.ts')],
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    outfile,
    logLevel: 'error',
  });
  return outfile;
}
