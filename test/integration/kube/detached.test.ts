/** The emulator as a detached process (what `hoist sandbox up` starts), with its state file. */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { build } from 'esbuild';
import { execa, type ResultPromise } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NODES, until } from './helpers.js';

const dir = mkdtempSync(path.join(tmpdir(), 'hoist-kube-detached-'));
const files = {
  main: path.join(dir, 'kube-emulator.mjs'),
  seed: path.join(dir, 'seed.json'),
  state: path.join(dir, 'state.json'),
  port: path.join(dir, 'port'),
  kubeconfig: path.join(dir, 'kubeconfig'),
};
let child: ResultPromise | undefined;

beforeAll(async () => {
  await build({
    entryPoints: [path.join(import.meta.dirname, '../../../src/sandbox/kube/main.ts')],
    bundle: true,
    platform: 'node',
    format: 'esm',
    outfile: files.main,
    logLevel: 'silent',
  });
  writeFileSync(files.seed, JSON.stringify({ nodes: NODES }));
});
afterAll(async () => {
  if (child?.pid && child.exitCode === null) child.kill('SIGKILL');
  await child?.catch(() => undefined);
  rmSync(dir, { recursive: true, force: true });
});

async function start(): Promise<void> {
  rmSync(files.port, { force: true });
  child = execa(
    'node',
    [
      files.main,
      '--port',
      '0',
      '--seed',
      files.seed,
      '--state-file',
      files.state,
      '--port-file',
      files.port,
      '--kubeconfig',
      files.kubeconfig,
    ],
    { reject: false },
  );
  await until(() => existsSync(files.port) || child!.exitCode !== null);
  expect(child.exitCode).toBeNull();
}

async function stop(): Promise<number | undefined> {
  child!.kill('SIGTERM');
  const result = await child!;
  return result.exitCode;
}

function kubectl(args: string[]) {
  return execa('kubectl', ['--kubeconfig', files.kubeconfig, '--cache-dir', path.join(dir, 'cache'), ...args], { reject: false });
}

describe('kube emulator process', () => {
  it('starts from a node seed, writes its port and kubeconfig, and stops cleanly on SIGTERM', async () => {
    await start();
    expect(Number(readFileSync(files.port, 'utf8'))).toBeGreaterThan(0);
    expect((await kubectl(['cordon', 'node-2'])).exitCode).toBe(0);
    expect(await stop()).toBe(0);
    const saved = JSON.parse(readFileSync(files.state, 'utf8')) as {
      objects: { kind: string; metadata: { name: string }; spec?: { unschedulable?: boolean } }[];
    };
    expect(saved.objects.find((o) => o.kind === 'Node' && o.metadata.name === 'node-2')?.spec?.unschedulable).toBe(true);
  });

  it('keeps its state across a restart', async () => {
    await start();
    const node = await kubectl(['get', 'node', 'node-2', '-o', 'json']);
    expect(JSON.parse(String(node.stdout)).spec.unschedulable).toBe(true);
    expect(await stop()).toBe(0);
  });
});
