/**
 * Entry point for running the emulator as a detached process (`hoist sandbox up` starts it,
 * `down` stops it by pid):
 *   node main.js --port N [--host 127.0.0.1] [--seed FILE] [--state-file F] [--port-file F]
 *                [--kubeconfig F] [--pdb-release-ms MS]
 * The seed file holds a JSON array of objects, or `{"nodes":[{name,address,role}]}` for the
 * default seed. With port 0 the chosen port is written to --port-file once it listens. SIGTERM
 * and SIGINT close the server (flushing the state file) and let the process end.
 */
import { promises as fs } from 'node:fs';
import { parseArgs } from 'node:util';
import { writeKubeconfig } from './kubeconfig.js';
import type { KubeObject } from './resources.js';
import { defaultSeed, type SeedNode } from './seed.js';
import { startKubeEmulator } from './server.js';

async function readSeed(file: string | undefined): Promise<KubeObject[]> {
  if (!file) return [];
  const parsed = JSON.parse(await fs.readFile(file, 'utf8')) as KubeObject[] | { nodes: SeedNode[]; guardedNode?: string };
  if (Array.isArray(parsed)) return parsed;
  return defaultSeed(parsed.nodes, { ...(parsed.guardedNode ? { guardedNode: parsed.guardedNode } : {}) });
}

async function writeAtomic(file: string, text: string): Promise<void> {
  await fs.writeFile(`${file}.tmp`, text);
  await fs.rename(`${file}.tmp`, file);
}

async function run(): Promise<void> {
  // parseArgs reads the process arguments itself when given none.
  const { values } = parseArgs({
    options: {
      host: { type: 'string', default: '127.0.0.1' },
      port: { type: 'string', default: '0' },
      seed: { type: 'string' },
      'state-file': { type: 'string' },
      'port-file': { type: 'string' },
      kubeconfig: { type: 'string' },
      'pdb-release-ms': { type: 'string' },
    },
  });
  const release = values['pdb-release-ms'];
  const emulator = await startKubeEmulator({
    host: values.host,
    port: Number(values.port),
    seed: await readSeed(values.seed),
    ...(values['state-file'] ? { stateFile: values['state-file'] } : {}),
    ...(release !== undefined ? { pdbReleaseMs: Number(release) } : {}),
  });
  if (values.kubeconfig) await writeKubeconfig(values.kubeconfig, emulator.url);
  if (values['port-file']) await writeAtomic(values['port-file'], `${emulator.port}\n`);
  const stop = (): void => {
    void emulator.close();
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}

// A failure to start ends the process with an error (top-level await rejects).
await run();
