import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import type { NewRunEvent, RunEvent } from '../../../src/fsm/run-events.js';
import { RunEventSchema } from '../../../src/fsm/run-events.js';
import { harness } from '../../helpers/engine-harness.js';
import { EVENTS_SCHEMA_FILE, publishedValidator } from '../../helpers/events-schema.js';
import { group, leaf, plan } from '../../helpers/plan-dsl.js';
import { recordingRegistry } from '../../helpers/recording-executors.js';

function collect() {
  const events: RunEvent[] = [];
  return { events, sink: { emit: (e: NewRunEvent) => events.push({ at: new Date().toISOString(), ...e } as RunEvent) } };
}

describe('fsm › run events', () => {
  it('docs/events.schema.json is the schema of src/fsm/run-events.ts (vitest -u rewrites it)', async () => {
    await expect(`${JSON.stringify(z.toJSONSchema(RunEventSchema), null, 2)}\n`).toMatchFileSnapshot(EVENTS_SCHEMA_FILE.pathname);
  });

  it('a leaf that runs emits started then completed; a failing one started then failed with code and hint', async () => {
    const p = plan([group('/g', [leaf('/g/a'), leaf('/g/b', ['/g/a'])]), leaf('/c', ['/g'])]);
    const { events, sink } = collect();
    const h = await harness(p, recordingRegistry({ failOn: { execute: ['/g/b'] } }).registry, { events: sink });
    const err = await (await h.make()).resume().catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'ERR_UNEXPECTED' });
    expect(events.map((e) => `${e.type} ${'phase' in e ? e.phase : ''}`)).toEqual([
      'phase.started /g/a',
      'phase.completed /g/a',
      'phase.started /g/b',
      'phase.failed /g/b',
    ]);
    expect(events[1]).toMatchObject({ operation: 'op-1', node: 'node-1', action: 'execute', state: 'completed' });
    expect(events[3]).toMatchObject({
      error: { code: 'ERR_UNEXPECTED', message: 'execute of /g/b broke', hint: expect.stringContaining('hoist plan resume') },
    });
    const check = publishedValidator();
    for (const e of events) expect(check(e), JSON.stringify(e)).toBeUndefined();
  });

  it('a rollback emits started then completed with state rolled_back', async () => {
    const { events, sink } = collect();
    const h = await harness(plan([leaf('/a')]), recordingRegistry().registry, { events: sink });
    await (await h.make()).execute('/a');
    const { rollbackPhase } = await import('../../../src/fsm/rollback.js');
    await rollbackPhase(await h.make(), '/a');
    expect(events.slice(2).map((e) => [e.type, 'action' in e && e.action, 'state' in e && e.state])).toEqual([
      ['phase.started', 'rollback', false],
      ['phase.completed', 'rollback', 'rolled_back'],
    ]);
  });

  it('the published schema refuses an event without its phase or with an unknown type', () => {
    const check = publishedValidator();
    const ok = { type: 'phase.started', at: 'x', operation: 'o', phase: '/a', node: null, action: 'execute', description: 'd' };
    expect(check(ok)).toBeUndefined();
    expect(check({ ...ok, phase: undefined })).toContain('phase');
    expect(check({ ...ok, type: 'phase.exploded' })).toBeDefined();
  });
});
