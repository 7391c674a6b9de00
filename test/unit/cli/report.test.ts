import { appendFileSync, mkdtempSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DEMO_STATE, demoOperation } from '../../helpers/demo-operation.js';
import { runCli } from '../../helpers/run-cli.js';

const STATE = DEMO_STATE;

function allFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => (statSync(join(dir, n)).isDirectory() ? allFiles(join(dir, n)) : [join(dir, n)]));
}

describe('cli › report', () => {
  it('archives an index, the cluster record, its history and the operation files, with secrets redacted', async () => {
    const { stateDir, id, store } = await demoOperation();
    // A secret some log line printed: it must not reach the archive.
    appendFileSync(store.logPath('upgrade-demo', id), '{"level":30,"msg":"hook said DB_PASSWORD=planted-s3cret-1 ok"}\n');
    const file = join(stateDir, 'r.tar.gz');
    const r = await runCli(['report', '--file', file, '--state', STATE, '-o', 'json'], { stateDir });
    expect(r.code, r.stderr).toBe(0);
    const doc = JSON.parse(r.stdout) as { files: string[]; nodes: unknown };
    expect(doc.files).toEqual([
      'index.json',
      'upgrade-demo/cluster.json',
      'upgrade-demo/history.ndjson',
      ...['operation.json', 'plan.json', 'changelog.ndjson', 'log.ndjson'].map((f) => `upgrade-demo/operations/${id}/${f}`),
    ]);
    expect(doc.nodes).toBe('not read: --state plans offline');
    const { x } = await import('tar');
    const out = mkdtempSync(join(tmpdir(), 'hoist-report-x-'));
    await x({ file, cwd: out });
    const texts = allFiles(out).map((f) => readFileSync(f, 'utf8'));
    expect(texts).toHaveLength(doc.files.length);
    expect(texts.join('\n')).not.toContain('planted-s3cret-1');
    expect(readFileSync(join(out, 'upgrade-demo', 'operations', id, 'log.ndjson'), 'utf8')).toContain('DB_PASSWORD=[REDACTED] ok');
    expect(JSON.parse(readFileSync(join(out, 'index.json'), 'utf8'))).toMatchObject({ cluster: 'upgrade-demo', since: expect.any(String) });
    await store.close();
  });
});
