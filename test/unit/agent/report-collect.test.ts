import { promises as fs } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { reportCollectAction } from '../../../src/agent/actions/report.js';
import type { ActionContext } from '../../../src/agent/actions/types.js';
import { tempDir } from './harness.js';

function context(stateDir: string): ActionContext {
  return {
    stateDir,
    version: 'test',
    operationId: '',
    phaseId: '',
    executionId: 'x',
    signal: new AbortController().signal,
    output: () => undefined,
    log: () => undefined,
  };
}

async function write(dir: string, rel: string, text: string): Promise<void> {
  await fs.mkdir(path.dirname(path.join(dir, rel)), { recursive: true });
  await fs.writeFile(path.join(dir, rel), text);
}

describe('agent › report.collect', () => {
  it('keeps agent log lines since the cutoff, redacts, and bounds the answer by keeping the newest bytes', async () => {
    const dir = await tempDir();
    const old = Date.parse('2026-01-01T00:00:00Z');
    const recent = Date.parse('2026-01-02T00:00:00Z');
    await write(
      dir,
      'agent/agent.log',
      `{"level":30,"time":${old},"msg":"old line"}\n{"level":30,"time":${recent},"msg":"new line token=abc123"}\n`,
    );
    await write(dir, 'runtime/service.log', `${'x'.repeat(200_000)}\nlast service line\n`);
    await write(dir, 'etcd/state.json', '{"enabled":true}');
    const run = (p: Record<string, unknown>) => reportCollectAction.run(context(dir), reportCollectAction.params.parse(p));

    const r = await run({ since: '2026-01-01T12:00:00Z', maxBytes: 60_000 });
    const file = (p: string) => r.files.find((f) => f.path === p);
    expect(file('agent/agent.log')!.text).toBe(
      `# hoist report: ${dir}/agent/agent.log: lines stamped 2026-01-01T12:00:00.000Z or later (and the unstamped lines that follow them): 1 of 2 lines left out\n` +
        `{"level":30,"time":${recent},"msg":"new line token=[REDACTED]"}\n`,
    );
    expect(file('etcd/state.json')!.text).toBe('{"enabled":true}');
    const service = file('runtime/service.log')!;
    expect(service.text.endsWith('last service line\n')).toBe(true);
    expect(service.truncated).toBeGreaterThan(0);
    // What was left out is said above what was kept, whatever the bound cut.
    expect(service.text.split('\n')[0]).toBe(
      `# hoist report: ${dir}/runtime/service.log: not filtered by --since: none of its 2 lines carries a timestamp this report reads; then its oldest ${service.truncated} bytes left out to keep the report within its bound`,
    );
    expect(r.files.reduce((n, f) => n + Buffer.byteLength(f.text), 0)).toBeLessThanOrEqual(60_000);
    expect(reportCollectAction.params.safeParse({ maxBytes: 10 * 1024 * 1024 }).success).toBe(false);
  });

  it("with kube asks only kubectl (once per view) and adds none of the node's files again", async () => {
    const dir = await tempDir();
    await write(dir, 'etcd/state.json', '{"enabled":true}');
    const r = await reportCollectAction.run(context(dir), reportCollectAction.params.parse({ kube: true }));
    expect(r.files.map((f) => f.path)).toEqual([
      'kube/get-nodes.txt',
      'kube/get-pods.txt',
      'kube/get-events.txt',
      'kube/describe-failing-nodes.txt',
      'kube/describe-failing-pods.txt',
      'kube/describe-failing-jobs.txt',
    ]);
    expect(r.files[0]!.text.startsWith('$ kubectl get nodes -o wide\n')).toBe(true);
  }, 60_000);
});
