import { describe, expect, it } from 'vitest';
import { humanSize } from '../../src/human-size.js';

describe('humanSize', () => {
  it('renders sizes the way ls -h does', () => {
    expect(humanSize(512)).toBe('512 B');
    expect(humanSize(1023)).toBe('1023 B');
    expect(humanSize(1536)).toBe('1.5 KiB');
    expect(humanSize(5 * 1024 * 1024)).toBe('5.0 MiB');
    expect(humanSize(2 * 1024 ** 5)).toBe('2048.0 TiB');
  });
});
