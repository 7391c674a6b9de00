import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DiskWriteResult, FactsResult } from '../../../src/agent/actions/index.js';
import type { AgentClient } from '../../../src/agent/client.js';
import { startTestAgent, type TestAgent, tempDir, waitFor, writePackage } from './harness.js';

/** True while `pid` exists and is not a zombie waiting to be reaped. */
async function running(pid: number): Promise<boolean> {
  try {
    const stat = await fs.readFile(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}

let t: TestAgent;
let client: AgentClient;
beforeAll(async () => {
  t = await startTestAgent();
  client = await t.client();
});
afterAll(() => t.cleanup());

describe('agent actions', () => {
  describe('facts', () => {
    it('reports hostname, time, version, free space and no packages on a fresh node', async () => {
      const before = Date.now();
      const facts = await client.run<FactsResult>('facts');
      expect(facts).toMatchObject({ hostname: os.hostname(), agentVersion: '9.9.9-test', packages: [] });
      expect(facts.time).toBeGreaterThanOrEqual(before);
      const stats = await fs.statfs(t.stateDir);
      expect(facts.stateDirFreeBytes).toBeGreaterThan(0);
      expect(facts.stateDirFreeBytes).toBeLessThanOrEqual(stats.blocks * stats.bsize);
    });

    it('lists the packages of the node index', async () => {
      const dir = path.join(t.stateDir, 'packages');
      await fs.mkdir(dir, { recursive: true });
      const packages = [
        { name: 'runtime', version: '1.0.0', sha256: 'a'.repeat(64), size: 10, labels: { installed: 'installed', purpose: 'runtime' } },
      ];
      await fs.writeFile(path.join(dir, 'index.json'), JSON.stringify({ packages }));
      try {
        expect((await client.run<FactsResult>('facts')).packages).toEqual(packages);
        await fs.writeFile(path.join(dir, 'index.json'), '{"packages": [{"name": "../x"}]}');
        await expect(client.run('facts')).rejects.toMatchObject({ code: 'ERR_PACKAGE_INDEX_INVALID', exitCode: 6 });
      } finally {
        await fs.rm(path.join(dir, 'index.json'));
      }
    });
  });

  describe('check.tmp', () => {
    it('creates and removes a probe file in the given directory', async () => {
      const dir = await tempDir('hoist-tmpcheck-');
      const result = await client.run<{ file: string }>('check.tmp', { tmpdir: dir });
      expect(path.basename(result.file)).toMatch(/^hoist-tmpcheck\.[0-9a-f-]{36}$/);
      expect(path.dirname(result.file)).toBe(dir);
      expect(await fs.readdir(dir)).toEqual([]);
      await fs.rm(dir, { recursive: true });
    });

    it('defaults to /tmp', async () => {
      const result = await client.run<{ file: string }>('check.tmp');
      expect(path.dirname(result.file)).toBe('/tmp');
    });

    it('fails with ERR_CHECK_TMP when the directory is not writable', async () => {
      const missing = path.join(t.stateDir, 'no-such-dir');
      const err = await client.run('check.tmp', { tmpdir: missing }).catch((e: unknown) => e);
      expect(err).toMatchObject({ code: 'ERR_CHECK_TMP', node: 'node-1' });
      expect((err as Error).message).toContain(missing);
    });
  });

  describe('check.disk-write', () => {
    it('writes the requested samples, reports the best rate, and removes the test file', async () => {
      const dir = await tempDir('hoist-diskcheck-');
      const logs: string[] = [];
      const result = await client.run<DiskWriteResult>(
        'check.disk-write',
        { dir, sizeMiB: 0.25, samples: 2 },
        { onLog: (_l, m) => logs.push(m) },
      );
      expect(result.file).toBe(path.join(dir, 'hoist-testfile'));
      expect(result.bytes).toBe(256 * 1024);
      expect(result.samples).toHaveLength(2);
      for (const s of result.samples) expect(s.MBps).toBeCloseTo(result.bytes / 1e6 / s.seconds);
      expect(result.bestMBps).toBe(Math.max(...result.samples.map((s) => s.MBps)));
      expect(logs).toHaveLength(2);
      expect(await fs.readdir(dir)).toEqual([]);
      await fs.rm(dir, { recursive: true });
    });

    it('defaults to the state dir and three samples', async () => {
      const result = await client.run<DiskWriteResult>('check.disk-write', { sizeMiB: 0.1 });
      expect(result.file).toBe(path.join(t.stateDir, 'hoist-testfile'));
      expect(result.samples).toHaveLength(3);
    });

    it('fails with ERR_CHECK_DISK_WRITE naming the file when it cannot write', async () => {
      const err = await client.run('check.disk-write', { dir: path.join(t.stateDir, 'missing'), sizeMiB: 0.1 }).catch((e: unknown) => e);
      expect(err).toMatchObject({ code: 'ERR_CHECK_DISK_WRITE' });
      expect((err as Error).message).toContain(path.join(t.stateDir, 'missing', 'hoist-testfile'));
    });
  });

  describe('check.time', () => {
    it('returns the node time in ms', async () => {
      const before = Date.now();
      const { time } = await client.run<{ time: number }>('check.time');
      expect(time).toBeGreaterThanOrEqual(before);
      expect(time).toBeLessThanOrEqual(Date.now());
    });
  });

  describe('exec.hook', () => {
    it('runs the hook in the package dir with the hoist environment and streams its output', async () => {
      const dir = await writePackage(t.stateDir, 'runtime', '1.2.3', {
        install: {
          run: 'echo "$HOIST_OPERATION_ID $HOIST_PHASE_ID"; echo "$HOIST_STATE_DIR|$HOIST_PACKAGE_DIR|$(pwd)"; echo warn >&2',
          timeoutSeconds: 30,
        },
      });
      const out: string[] = [];
      const err: string[] = [];
      const result = await client.run(
        'exec.hook',
        { package: 'runtime:1.2.3', hook: 'install' },
        {
          operationId: 'op-7',
          phaseId: '/bootstrap/node-1',
          onOutput: (stream, data) => (stream === 'stdout' ? out : err).push(data),
        },
      );
      expect(result).toEqual({ package: 'runtime:1.2.3', hook: 'install', exitCode: 0 });
      const realDir = await fs.realpath(dir);
      expect(out.join('')).toBe(`op-7 /bootstrap/node-1\n${t.stateDir}|${dir}|${realDir}\n`);
      expect(err.join('')).toBe('warn\n');
    });

    it('runs an argv hook without a shell', async () => {
      await writePackage(t.stateDir, 'argv', '1.0.0', { start: { run: ['printf', '%s|', 'a b', '$HOME'] } });
      let out = '';
      await client.run('exec.hook', { package: 'argv:1.0.0', hook: 'start' }, { onOutput: (_s, d) => (out += d) });
      expect(out).toBe('a b|$HOME|');
    });

    it('fails with ERR_HOOK_FAILED and the exit code on a non-zero exit', async () => {
      await writePackage(t.stateDir, 'bad', '1.0.0', { install: { run: 'echo broken >&2; exit 3' } });
      let stderr = '';
      const err = await client
        .run('exec.hook', { package: 'bad:1.0.0', hook: 'install' }, { onOutput: (_s, d) => (stderr += d) })
        .catch((e: unknown) => e);
      expect(err).toMatchObject({ code: 'ERR_HOOK_FAILED', exitCode: 6, execution: expect.any(String) });
      expect((err as Error).message).toMatch(/exited with code 3/);
      expect(stderr).toBe('broken\n');
    });

    it('kills the hook and its children at the timeout with ERR_HOOK_TIMEOUT', async () => {
      const dir = await writePackage(t.stateDir, 'hang', '1.0.0', {
        install: { run: 'sleep 30 & echo $! > child.pid; wait', timeoutSeconds: 0.3 },
      });
      const err = await client.run('exec.hook', { package: 'hang:1.0.0', hook: 'install' }).catch((e: unknown) => e);
      expect(err).toMatchObject({ code: 'ERR_HOOK_TIMEOUT' });
      const childPid = Number(await fs.readFile(path.join(dir, 'child.pid'), 'utf8'));
      // The background child was in the hook's process group and got the signal too.
      await waitFor(async () => !(await running(childPid)), `hook child ${childPid} to end`);
    });

    it('fails with ERR_HOOK_NOT_FOUND for an unknown package or hook', async () => {
      await writePackage(t.stateDir, 'known', '1.0.0', { install: { run: 'true' }, health: { run: 'true' } });
      const noPackage = await client.run('exec.hook', { package: 'ghost:1.0.0', hook: 'install' }).catch((e: unknown) => e);
      expect(noPackage).toMatchObject({ code: 'ERR_HOOK_NOT_FOUND' });
      expect((noPackage as Error).message).toMatch(/ghost:1\.0\.0 is not unpacked/);
      const noHook = await client.run('exec.hook', { package: 'known:1.0.0', hook: 'uninstall' }).catch((e: unknown) => e);
      expect(noHook).toMatchObject({ code: 'ERR_HOOK_NOT_FOUND' });
      expect((noHook as Error).message).toMatch(/no hook "uninstall" \(it declares: install, health\)/);
    });

    it('node.probe reports a health hook killed at its timeout as such, even when its last line said healthy', async () => {
      await writePackage(t.stateDir, 'slow', '1.0.0', { health: { run: 'echo "runtime is healthy"; sleep 30' } });
      const slow = (await client.run('node.probe', { health: 'slow:1.0.0', timeoutSeconds: 1 })) as {
        health: { healthy: boolean; message: string };
      };
      expect(slow.health.healthy).toBe(false);
      expect(slow.health.message).toMatch(/did not finish within 1 s and was killed \(its last line: runtime is healthy\)/);
      await writePackage(t.stateDir, 'sick', '1.0.0', { health: { run: 'echo "etcd member unhealthy"; exit 1' } });
      const sick = (await client.run('node.probe', { health: 'sick:1.0.0' })) as { health: { healthy: boolean; message: string } };
      expect(sick.health).toMatchObject({ healthy: false, message: 'etcd member unhealthy' });
    });

    it('refuses package references that could leave the package store', async () => {
      for (const ref of ['../etc:1', 'x:../../y', 'nocolon', 'a/b:1']) {
        await expect(client.run('exec.hook', { package: ref, hook: 'install' })).rejects.toMatchObject({ code: 'ERR_AGENT_BAD_PARAMS' });
      }
    });
  });
});
