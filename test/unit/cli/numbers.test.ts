import { describe, expect, it } from 'vitest';
import { parseCount, parseCountOrPercent } from '../../../src/cli/commands/shared.js';

describe('numeric options', () => {
  it('takes plain decimals only', () => {
    expect(parseCount('--parallel', '12')).toBe(12);
    for (const bad of ['0x10', '1e3', ' 2', '0', '-1', '1.5', ''])
      expect(() => parseCount('--parallel', bad)).toThrow(/--parallel must be/);
  });
  it('takes percentages from 1% to 100%', () => {
    expect(parseCountOrPercent('--max-unavailable-workers', '25%')).toBe('25%');
    expect(parseCountOrPercent('--max-unavailable-workers', '3')).toBe(3);
    // A bad count names both forms too (it said "a positive whole number" only).
    for (const bad of ['0%', '150%', '%', '1.5%', '0x10%', 'abc', '0', '']) {
      expect(() => parseCountOrPercent('--max-unavailable-workers', bad)).toThrow(
        /--max-unavailable-workers must be a positive whole number or a percentage from 1% to 100%/,
      );
    }
  });
});
