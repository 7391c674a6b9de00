/**
 * The Kubernetes API path of the agent (`kube.api` through one `kubectl proxy`) against the
 * emulator with the real kubectl: same results and errors as kubectl, one proxy for many calls,
 * restarted when it dies, and never outliving its stop or the process that started it.
 */
import { spawn } from 'node:child_process';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { KubeApiResult } from '../../../src/agent/actions/index.js';
import { runActionLocally } from '../../../src/agent/actions/run-local.js';
import { stopKubeProxies } from '../../../src/agent/kube-proxy.js';
import { type KubeApi, KubeApiUnavailableError } from '../../../src/kube/api.js';
import {
  cordon,
  defaultEndpointTargets,
  type KubectlRunner,
  labelNode,
  localKubectlRunner,
  taintNode,
  uncordon,
  untaintNode,
  waitEndpoints,
} from '../../../src/kube/index.js';
import { caught } from '../../helpers/caught.js';
import { eventually, processes } from '../ssh/helpers.js';
import { type KubeFixture, startFixture } from './helpers.js';

let f: KubeFixture;
let stateDir: string;
const kubectlRuns: string[][] = [];
const logs: string[] = [];
let starts = 0;

/** The orchestrator's runner shape: kubectl counted, the API through `kube.api` run in this process. */
function proxiedRunner(): KubectlRunner {
  const local = localKubectlRunner({ kubeconfig: f.kubeconfig });
  const api: KubeApi = {
    async request(req) {
      const params = { method: req.method, path: req.path, ...(req.body !== undefined ? { body: JSON.stringify(req.body) } : {}) };
      const r = await runActionLocally<KubeApiResult>(stateDir, 'kube.api', params, {
        version: 'test',
        onLog: (level, message) => logs.push(`${level}: ${message}`),
      }).catch((err: { code?: string; message: string }) => {
        if (err.code === 'ERR_KUBE_PROXY_UNAVAILABLE') throw new KubeApiUnavailableError(err.message);
        throw err;
      });
      if (r.started) starts++;
      return r;
    },
  };
  return {
    run: (args, opts) => {
      kubectlRuns.push(args);
      return local.run(args, opts);
    },
    api,
  };
}

/** Live kubectl proxy processes serving this test's state dir. */
async function proxies(dir = stateDir): Promise<number[]> {
  return (await processes())
    .filter((p) => p.cmdline.includes(' proxy ') && p.cmdline.includes(dir) && p.comm === 'kubectl')
    .map((p) => p.pid);
}

beforeAll(async () => {
  f = await startFixture();
  stateDir = path.join(f.dir, 'node');
  await fs.mkdir(path.join(stateDir, 'kube'), { recursive: true });
  await fs.copyFile(f.kubeconfig, path.join(stateDir, 'kube', 'kubeconfig'));
});
afterAll(async () => {
  await stopKubeProxies();
  await f?.stop();
});

const node = (name: string) => f.emulator.state.get('Node', undefined, name)!;

describe('kube API through the kubectl proxy', () => {
  it('taints, cordons, labels and reads endpoints with one proxy and no kubectl per call', async () => {
    const k = proxiedRunner();
    await taintNode(k, 'node-2');
    await cordon(k, 'node-2');
    expect(node('node-2').spec.taints).toEqual([{ key: 'hoist/runlevel', value: 'system', effect: 'NoExecute' }]);
    expect(node('node-2').spec.unschedulable).toBe(true);
    await uncordon(k, 'node-2');
    await untaintNode(k, 'node-2');
    await untaintNode(k, 'node-2');
    await labelNode(k, 'node-2', { 'hoist/version': '2.0.0' });
    await waitEndpoints(k, defaultEndpointTargets('worker'), { timeoutMs: 10_000 });
    expect(node('node-2').spec.unschedulable).toBeUndefined();
    expect(node('node-2').spec.taints ?? []).toEqual([]);
    expect(node('node-2').metadata.labels?.['hoist/version']).toBe('2.0.0');
    expect(kubectlRuns).toEqual([]);
    expect(starts).toBe(1);
    expect(await proxies()).toHaveLength(1);
  });

  it('a missing node fails with the same code, message and hint as through kubectl', async () => {
    const viaApi = await caught(taintNode(proxiedRunner(), 'node-9'));
    const viaKubectl = await caught(taintNode({ run: localKubectlRunner({ kubeconfig: f.kubeconfig }).run }, 'node-9'));
    expect(viaApi.code).toBe('ERR_KUBE_COMMAND_FAILED');
    expect([viaApi.code, viaApi.message, viaApi.hint]).toEqual([viaKubectl.code, viaKubectl.message, viaKubectl.hint]);
  });

  it('a proxy killed -9 between calls is started again by the next call, which logs it', async () => {
    const [pid] = await proxies();
    process.kill(pid!, 'SIGKILL');
    await eventually(async () => (await proxies()).length === 0);
    const before = starts;
    await cordon(proxiedRunner(), 'node-3');
    expect(node('node-3').spec.unschedulable).toBe(true);
    expect(starts).toBe(before + 1);
    expect(logs.filter((l) => l.includes('kubectl proxy started'))).toHaveLength(2);
    // Seen dead before the call (it exited) or by the call (its socket refused): either way, said.
    expect(logs.filter((l) => /^warn: kubectl proxy .*; starting it again$/.test(l))).toHaveLength(1);
    expect(kubectlRuns).toEqual([]);
  });

  it('stopping leaves no proxy; the next call starts one again', async () => {
    expect(await stopKubeProxies()).toBe(1);
    // Neither kubectl nor the shell watching it is left.
    expect((await processes()).filter((p) => p.cmdline.includes(stateDir))).toEqual([]);
    await uncordon(proxiedRunner(), 'node-3');
    expect(await proxies()).toHaveLength(1);
    await stopKubeProxies();
  });

  it('a proxy never outlives the process that started it, even when that one is killed -9', async () => {
    const dir = path.join(f.dir, 'killed');
    await fs.mkdir(path.join(dir, 'kube'), { recursive: true });
    await fs.copyFile(f.kubeconfig, path.join(dir, 'kube', 'kubeconfig'));
    const runLocal = fileURLToPath(new URL('../../../dist/agent/actions/run-local.js', import.meta.url));
    const script = `const { runActionLocally } = await import(${JSON.stringify(runLocal)});
      await runActionLocally(${JSON.stringify(dir)}, 'kube.api', { method: 'GET', path: '/api/v1/nodes' }, { version: 't' });
      process.stdout.write('ready\\n'); setInterval(() => {}, 1000);`;
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
    await new Promise<void>((resolve, reject) => {
      child.stdout.on('data', (d: Buffer) => d.toString().includes('ready') && resolve());
      child.once('exit', (code) => reject(new Error(`child exited ${code}`)));
    });
    expect(await proxies(dir)).toHaveLength(1);
    child.kill('SIGKILL');
    await eventually(async () => (await proxies(dir)).length === 0);
    expect((await processes()).filter((p) => p.cmdline.includes(dir))).toEqual([]);
  });

  it('an API the proxy cannot reach fails with ERR_KUBE_API_UNREACHABLE', async () => {
    await f.emulator.close();
    const err = await caught(cordon(proxiedRunner(), 'node-1'));
    expect(err.code).toBe('ERR_KUBE_API_UNREACHABLE');
    expect(err.message).toMatch(/connection refused/);
  });
});
