import { describe, expect, it } from 'vitest';
import type { OsStatus } from '../../../src/agent/actions/index.js';
import { verdictOf } from '../../../src/phases/boot-assessment.js';

const base: OsStatus = {
  release: '2.0.0',
  bootId: 'boot-1',
  activeSlot: 'a',
  defaultSlot: 'a',
  nextSlot: null,
  slots: { a: { release: '2.0.0' }, b: { release: '2.2.0' } },
  assessment: null,
};
const at = '2026-01-01T00:00:00.000Z';

describe('phases › boot-assessment verdict', () => {
  it('waits while the node has not assessed a boot of the release', () => {
    expect(verdictOf(base, '2.2.0').state).toBe('waiting');
  });

  it('waits while the trial boot is being assessed', () => {
    const trial = {
      ...base,
      release: '2.2.0',
      bootId: 'boot-2',
      activeSlot: 'b',
      assessment: { bootId: 'boot-2', slot: 'b', state: 'pending' as const, at },
    };
    expect(verdictOf(trial, '2.2.0').state).toBe('waiting');
  });

  it('passes once the trial boot passed and runs the release', () => {
    const passed = {
      ...base,
      release: '2.2.0',
      bootId: 'boot-2',
      activeSlot: 'b',
      defaultSlot: 'b',
      assessment: { bootId: 'boot-2', slot: 'b', state: 'passed' as const, at },
    };
    expect(verdictOf(passed, '2.2.0').state).toBe('passed');
  });

  it('fails only once the node is back on another boot after a failed trial', () => {
    const assessment = { bootId: 'boot-2', slot: 'b', state: 'failed' as const, check: 'kubelet', output: 'x', at };
    const stillTrial = { ...base, release: '2.2.0', bootId: 'boot-2', activeSlot: 'b', assessment };
    expect(verdictOf(stillTrial, '2.2.0').state).toBe('waiting');
    const fellBack = { ...base, bootId: 'boot-3', assessment };
    expect(verdictOf(fellBack, '2.2.0').state).toBe('failed');
  });

  it('ignores an assessment of another release', () => {
    const other = {
      ...base,
      slots: { a: { release: '2.0.0' }, b: { release: '2.1.0' } },
      assessment: { bootId: 'boot-0', slot: 'b', state: 'failed' as const, at },
    };
    expect(verdictOf(other, '2.2.0').state).toBe('waiting');
  });
});
