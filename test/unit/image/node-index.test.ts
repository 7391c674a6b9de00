import { describe, expect, it } from 'vitest';
import { StateError } from '../../../src/errors.js';
import {
  addPackage,
  emptyIndex,
  installedVersion,
  markInstalled,
  nodeStorePaths,
  parseNodeIndex,
  removePackage,
  serializeIndex,
  setLabels,
} from '../../../src/image/node-index.js';
import type { PackageEntry } from '../../../src/image/schema.js';

function entry(name: string, version: string, labels: Record<string, string> = {}): PackageEntry {
  return { name, version, sha256: `${name.length}${version.replace(/\D/g, '')}`.padEnd(64, 'a'), size: 100, labels };
}

const OLD = entry('runtime', '7.0.35-11706', { purpose: 'runtime' });
const NEW = entry('runtime', '7.0.56-11709', { purpose: 'runtime' });
const DNS = entry('dns-app', '7.0.3', { purpose: 'system-app' });

describe('image', () => {
  describe('node package index', () => {
    it('adds packages sorted by name and semver version, merging extra labels', () => {
      let index = addPackage(emptyIndex(), NEW, { 'operation-id': 'op-1' });
      index = addPackage(index, DNS);
      index = addPackage(index, OLD, { installed: 'installed' });
      expect(index.packages.map((p) => `${p.name}:${p.version}`)).toEqual([
        'dns-app:7.0.3',
        'runtime:7.0.35-11706',
        'runtime:7.0.56-11709',
      ]);
      expect(index.packages[2]?.labels).toEqual({ purpose: 'runtime', 'operation-id': 'op-1' });
    });

    it('replaces an entry added twice instead of duplicating it, and never mutates its input', () => {
      const one = addPackage(emptyIndex(), DNS);
      const two = addPackage(one, { ...DNS, size: 200 }, { installed: 'installed' });
      expect(two.packages).toEqual([{ ...DNS, size: 200, labels: { purpose: 'system-app', installed: 'installed' } }]);
      expect(one.packages).toEqual([DNS]);
    });

    it('removes one package, idempotently', () => {
      let index = addPackage(emptyIndex(), OLD, { installed: 'installed' });
      index = addPackage(index, DNS, { 'operation-id': 'op-2' });
      const after = removePackage(addPackage(index, NEW, { 'operation-id': 'op-1' }), NEW);
      expect(after).toEqual(index);
      expect(after.packages.map((p) => p.version)).toEqual(['7.0.3', '7.0.35-11706']);
      expect(removePackage(after, DNS).packages.map((p) => p.version)).toEqual(['7.0.35-11706']);
      expect(removePackage(after, { name: 'nope', version: '1.0.0' })).toEqual(after);
    });

    it('sets and deletes labels of one package, refusing a package that is not indexed', () => {
      const index = addPackage(emptyIndex(), DNS, { 'operation-id': 'op-1' });
      const labelled = setLabels(index, DNS, { installed: 'installed', 'operation-id': null });
      expect(labelled.packages[0]?.labels).toEqual({ purpose: 'system-app', installed: 'installed' });
      expect(() => setLabels(index, NEW, { installed: 'installed' })).toThrow(StateError);
    });

    it('keeps exactly one installed version per package across a switch and its rollback', () => {
      let index = addPackage(addPackage(emptyIndex(), OLD, { installed: 'installed' }), NEW);
      index = markInstalled(addPackage(index, DNS, { installed: 'installed' }), NEW);
      expect(installedVersion(index, 'runtime')?.version).toBe('7.0.56-11709');
      const installed = (i: typeof index) => i.packages.filter((p) => p.labels.installed === 'installed');
      expect(installed(index).map((p) => `${p.name}:${p.version}`)).toEqual(['dns-app:7.0.3', 'runtime:7.0.56-11709']);
      index = markInstalled(index, OLD);
      expect(installedVersion(index, 'runtime')?.version).toBe('7.0.35-11706');
      expect(installed(index).map((p) => `${p.name}:${p.version}`)).toEqual(['dns-app:7.0.3', 'runtime:7.0.35-11706']);
    });

    it('round-trips through index.json text and names a damaged file', () => {
      const index = addPackage(addPackage(emptyIndex(), NEW), DNS, { installed: 'installed' });
      const text = serializeIndex(index);
      expect(text.endsWith('}\n')).toBe(true);
      expect(parseNodeIndex(text, '/var/lib/hoist/packages/index.json')).toEqual(index);
      expect(() => parseNodeIndex('{"packages": [', '/n/index.json')).toThrow(/^\/n\/index\.json: not valid JSON/);
      const err = (() => {
        try {
          parseNodeIndex('{"packages": [{"name": "x"}]}', '/n/index.json');
        } catch (e) {
          return e as StateError;
        }
        return undefined;
      })();
      expect(err).toBeInstanceOf(StateError);
      expect(err?.code).toBe('ERR_PACKAGE_INDEX_INVALID');
      expect(err?.message).toContain('packages.0.version');
    });

    it('lays out the store under the node state dir', () => {
      const paths = nodeStorePaths('/var/lib/hoist');
      expect(paths.index).toBe('/var/lib/hoist/packages/index.json');
      expect(paths.blob('ab')).toBe('/var/lib/hoist/packages/blobs/ab');
      expect(paths.unpacked(NEW)).toBe('/var/lib/hoist/packages/unpacked/runtime/7.0.56-11709');
    });
  });
});
