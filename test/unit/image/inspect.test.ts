import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildImage } from '../../../src/image/build.js';
import { formatInspection, inspectImage } from '../../../src/image/inspect.js';
import { makeSource } from './helpers.js';

describe('image', () => {
  describe('inspect', () => {
    let tmp: string;

    beforeAll(async () => {
      tmp = await mkdtemp(join(tmpdir(), 'hoist-inspect-test-'));
      await makeSource(join(tmp, 'src'));
    });
    afterAll(() => rm(tmp, { recursive: true, force: true }));

    it('lists name, version, size, short sha256 and labels of every package', async () => {
      const archive = join(tmp, 'demo.tar.gz');
      const built = await buildImage(join(tmp, 'src'), archive);
      const inspection = await inspectImage(archive);
      expect(inspection).toMatchObject({ source: archive, name: 'demo', version: '1.2.0', runtime: 'runtime:7.0.1-1' });
      expect(inspection.rows).toEqual(
        built.index.packages.map((p) => ({
          name: p.name,
          version: p.version,
          size: p.size,
          sha256: p.sha256.slice(0, 12),
          labels: p.labels,
        })),
      );
      expect(inspection.rows.map((r) => r.labels.purpose)).toEqual(['app', 'system-app', 'runtime']);

      const text = formatInspection(inspection);
      const lines = text.trimEnd().split('\n');
      expect(lines[0]).toBe(`Image demo:1.2.0 (runtime runtime:7.0.1-1) from ${archive}`);
      expect(lines[2]).toMatch(/^Name\s+Version\s+Size\s+SHA256\s+Labels$/);
      expect(lines[4]).toMatch(new RegExp(`^demo\\s+1\\.2\\.0\\s+\\d+ B\\s+${inspection.rows[0]?.sha256}\\s+purpose=app$`));
      expect(lines).toHaveLength(7);
    });
  });
});
