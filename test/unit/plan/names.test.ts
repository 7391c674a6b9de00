import { describe, expect, it } from 'vitest';
import { isNodeName, isPackageName, locatorOf, parseLocator, readLocator } from '../../../src/plan/names.js';

describe('names', () => {
  it('accepts DNS labels as node names and nothing else', () => {
    expect(['node-1', 'a', 'n0'].filter(isNodeName)).toEqual(['node-1', 'a', 'n0']);
    expect(['Node-1', 'a/b', 'a.b', '-a', 'a-', '', 'x'.repeat(64)].filter(isNodeName)).toEqual([]);
  });

  it('accepts lowercase package names usable as one path segment', () => {
    expect(isPackageName('dns-app')).toBe(true);
    expect(isPackageName('runtime.v2_x')).toBe(true);
    expect(['Dns', 'a/b', '.hidden', '', 'x'.repeat(129)].filter(isPackageName)).toEqual([]);
  });

  it('reads name:semver locators and round-trips them', () => {
    expect(readLocator('runtime:7.0.56-11709')).toEqual({ name: 'runtime', version: '7.0.56-11709' });
    expect(locatorOf(readLocator('dns-app:7.0.3')!)).toBe('dns-app:7.0.3');
    for (const bad of ['runtime', ':1.0.0', 'runtime:', 'runtime:v1.0.0', 'runtime:1.0', 'a/b:1.0.0', 'x:1.0.0:2']) {
      expect(readLocator(bad), bad).toBeUndefined();
    }
  });

  it('names the field of a bad locator in an InputError', () => {
    expect(() => parseLocator('runtime', 'target.runtime')).toThrow(/^target\.runtime: "runtime" is not a package locator/);
    expect(() => parseLocator('runtime', 'x')).toThrow(expect.objectContaining({ code: 'ERR_LOCATOR_INVALID', exitCode: 3 }));
  });
});
