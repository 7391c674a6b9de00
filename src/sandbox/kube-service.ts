/**
 * The sandbox's Kubernetes API emulator as a detached process: seeded with the sandbox nodes and a
 * few pods (one under a budget that frees itself a few seconds after blocking a drain), with a
 * kubeconfig for it in every master's state dir (`kube/kubeconfig`), where `kube.run` looks.
 */
import { spawn } from 'node:child_process';
import { existsSync, promises as fs, openSync } from 'node:fs';
import path from 'node:path';
import type { Logger } from 'pino';
import { ExitCode, HoistError } from '../errors.js';
import { packagePath } from '../package-root.js';
import { type SandboxRecord, writeSandboxRecord } from './manifest.js';

/** How long a budget blocks evictions before it frees itself, so demos show the wait and go on. */
const PDB_RELEASE_MS = 4_000;

/**
 * `HOIST_SANDBOX_PDB_RELEASE_MS` overrides it; `never` keeps budgets blocking until patched
 * (tests that need a drain held open, e.g. to interrupt it).
 */
function pdbRelease(env: NodeJS.ProcessEnv): string[] {
  const value = env.HOIST_SANDBOX_PDB_RELEASE_MS;
  if (value === 'never') return [];
  return ['--pdb-release-ms', value && /^\d+$/.test(value) ? value : String(PDB_RELEASE_MS)];
}

/** The emulator's entry, compiled by the build. */
function entry(): string {
  const file = packagePath('dist', 'sandbox', 'kube', 'main.js');
  if (existsSync(file)) return file;
  throw new HoistError('ERR_SANDBOX_KUBE_MISSING', `the Kubernetes API emulator is not built (${file})`, ExitCode.unexpected, {
    hint: 'build hoist first: npm run build',
  });
}

/** Starts the emulator for the sandbox and records its pid and port in sandbox.json. */
export async function startSandboxKube(record: SandboxRecord, log?: Logger): Promise<SandboxRecord> {
  const dir = path.join(record.dir, 'kube');
  await fs.mkdir(dir, { recursive: true });
  const seed = path.join(dir, 'seed.json');
  const portFile = path.join(dir, 'port');
  const kubeconfig = path.join(dir, 'kubeconfig');
  await fs.writeFile(seed, JSON.stringify({ nodes: record.nodes.map((n) => ({ name: n.name, address: n.address, role: n.role })) }));
  await fs.rm(portFile, { force: true });
  const out = openSync(path.join(dir, 'emulator.log'), 'a');
  const child = spawn(
    process.execPath,
    [
      entry(),
      '--port',
      '0',
      '--seed',
      seed,
      '--state-file',
      path.join(dir, 'state.json'),
      '--port-file',
      portFile,
      '--kubeconfig',
      kubeconfig,
      ...pdbRelease(process.env),
    ],
    {
      detached: true,
      stdio: ['ignore', out, out],
    },
  );
  child.unref();
  const deadline = Date.now() + 10_000;
  let port: number | undefined;
  while (Date.now() < deadline && port === undefined) {
    const text = await fs.readFile(portFile, 'utf8').catch(() => '');
    if (text.trim()) port = Number(text.trim());
    else await new Promise((r) => setTimeout(r, 50));
  }
  if (port === undefined)
    throw new HoistError('ERR_SANDBOX_KUBE_START', 'the Kubernetes API emulator did not start', ExitCode.unexpected, {
      hint: `see ${path.join(dir, 'emulator.log')}`,
    });
  for (const node of record.nodes.filter((n) => n.role === 'master')) {
    await fs.mkdir(path.join(node.nodeStateDir, 'kube'), { recursive: true });
    await fs.copyFile(kubeconfig, path.join(node.nodeStateDir, 'kube', 'kubeconfig'));
  }
  const next = { ...record, kube: { pid: child.pid, port, kubeconfig } } as SandboxRecord;
  await writeSandboxRecord(next);
  log?.info({ event: 'sandbox.kube.up', pid: child.pid, port }, `Kubernetes API emulator on 127.0.0.1:${port} (pid ${child.pid})`);
  return next;
}
