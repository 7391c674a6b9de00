import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DEMO_STATE, DEMO_V2, demoOperation } from '../../helpers/demo-operation.js';
import { publishedValidator } from '../../helpers/events-schema.js';
import { runCli } from '../../helpers/run-cli.js';

const parse = (text: string) =>
  text
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Record<string, unknown>);

describe('cli › events stream', () => {
  it('plan --tail -o ndjson tells each change as events, valid against docs/events.schema.json, and nothing else on stdout', async () => {
    const { stateDir, store, id, ids, lease } = await demoOperation();
    const held = await lease();
    const at = (s: number) => new Date(Date.UTC(2026, 0, 1, 0, 0, s)).toISOString();
    await store.appendChange('upgrade-demo', id, { phase: ids[0]!, state: 'in_progress', action: 'execute', at: at(0) }, held);
    await store.appendChange('upgrade-demo', id, { phase: ids[0]!, state: 'completed', action: 'execute', at: at(3) }, held);
    // A failed pre-check records no in-progress change: the tail still says the phase started.
    const error = { code: 'ERR_X', message: 'disk on fire', output: ['last line'] };
    await store.appendChange('upgrade-demo', id, { phase: ids[1]!, state: 'failed', action: 'execute', at: at(4), error }, held);
    await held.release();

    const r = await runCli(['plan', '--tail', '--state', DEMO_STATE, '-o', 'ndjson'], { stateDir });
    expect(r.code).toBe(6);
    const events = parse(r.stdout);
    const check = publishedValidator();
    for (const e of events) expect(check(e), JSON.stringify(e)).toBeUndefined();
    expect(events.map((e) => `${e.type} ${e.phase ?? ''}`.trim())).toEqual([
      'operation.started',
      `phase.started ${ids[0]}`,
      `phase.completed ${ids[0]}`,
      `phase.started ${ids[1]}`,
      `phase.failed ${ids[1]}`,
      'operation.finished',
    ]);
    expect(events[2]).toMatchObject({ durationMs: 3000, node: 'node-1', state: 'completed' });
    expect(events[4]).toMatchObject({ error, durationMs: 0 });
    expect(events[5]).toMatchObject({
      operation: id,
      outcome: 'failed',
      exitCode: 6,
      operationState: 'in_progress',
      error: { code: 'ERR_X' },
    });
    expect(r.stderr).toContain('error[ERR_X]');
    await store.close();
  });

  it('upgrade --manual --events FILE writes operation.started (created) and operation.finished; stdout keeps its result', async () => {
    const stateDir = mkdtempSync(join(tmpdir(), 'hoist-ev-'));
    const file = join(stateDir, 'events.ndjson');
    const r = await runCli(['upgrade', '--manual', '--state', DEMO_STATE, DEMO_V2, '--events', file], { stateDir });
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/has been created in manual mode/);
    const events = parse(readFileSync(file, 'utf8'));
    expect(events).toEqual([
      expect.objectContaining({ type: 'operation.started', created: true, from: '1.0.0', to: '2.0.0', mode: 'manual' }),
      expect.objectContaining({ type: 'operation.finished', outcome: 'ok', exitCode: 0, operationState: 'in_progress' }),
    ]);
    expect(events[0]!.operation).toBe(events[1]!.operation);
  });

  it('a refused command still ends its stream with operation.finished naming the error', async () => {
    const stateDir = mkdtempSync(join(tmpdir(), 'hoist-ev-'));
    const r = await runCli(['plan', 'resume', '--state', DEMO_STATE, '-o', 'ndjson'], { stateDir });
    expect(r.code).toBe(2);
    expect(parse(r.stdout)).toEqual([
      expect.objectContaining({
        type: 'operation.finished',
        outcome: 'failed',
        exitCode: 2,
        error: expect.objectContaining({ code: 'ERR_USAGE_OFFLINE' }),
      }),
    ]);
  });

  it('refuses -o ndjson and --events where no events are emitted, before doing anything', async () => {
    const stateDir = mkdtempSync(join(tmpdir(), 'hoist-ev-'));
    const status = await runCli(['status', '--state', DEMO_STATE, '-o', 'ndjson'], { stateDir });
    expect(status.code).toBe(2);
    expect(status.stderr).toContain('error[ERR_USAGE_NDJSON]: -o ndjson streams events, which "status" does not emit');
    const complete = await runCli(['plan', 'complete', '--state', DEMO_STATE, '--events', join(stateDir, 'e')], { stateDir });
    expect(complete.code).toBe(2);
    expect(complete.stderr).toContain('"hoist plan complete" emits no events');
    const both = await runCli(['upgrade', '--manual', '--state', DEMO_STATE, DEMO_V2, '--events', '-', '-o', 'json'], { stateDir });
    expect(both.code).toBe(2);
    expect(both.stderr).toContain('--events - puts the events on stdout');
    const dir = await runCli(['upgrade', '--manual', '--state', DEMO_STATE, DEMO_V2, '--events', stateDir], { stateDir });
    expect(dir.code).toBe(3);
    expect(dir.stderr).toContain('error[ERR_EVENTS_FILE]');
  });
});
