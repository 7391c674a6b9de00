import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { buildUpgradePlan } from '../../../src/plan/builder/upgrade-plan.js';
import { walk } from '../../../src/plan/query.js';
import type { Phase } from '../../../src/plan/types.js';
import { SCENARIOS } from './scenarios.js';

const TABLE = join(dirname(fileURLToPath(import.meta.url)), '../../../fixtures/plans/seed-7.0-table.txt');

interface Row {
  id: string;
  description: string;
  requires: string[];
}

/**
 * Reads a `gravity plan` table: columns start where the header names start, the Phase column
 * nests by two spaces per level, and "-" means no requirement.
 */
function parseTable(text: string): Row[] {
  const [header, , ...lines] = text.split('\n').filter((l) => l.trim() !== '');
  const col = (name: string): number => header!.indexOf(name);
  const [desc, state, requires, updated] = [col('Description'), col('State'), col('Requires'), col('Updated')];
  const path: string[] = [];
  return lines.map((line) => {
    const cell = line.slice(0, desc);
    const depth = (cell.length - cell.trimStart().length) / 2;
    path.length = depth;
    path.push(cell.trim().replace(/^\* /, ''));
    const req = line.slice(requires, updated).trim();
    return {
      id: `/${path.join('/')}`,
      description: line.slice(desc, state).trim(),
      requires: req === '-' ? [] : req.split(','),
    };
  });
}

function rows(phases: Phase[]): Row[] {
  const out: Row[] = [];
  walk(phases, (p) => {
    out.push({ id: p.id, description: p.description, requires: p.requires });
  });
  return out;
}

describe('plan builder', () => {
  describe('Gravity 7 seed table', () => {
    const seed = parseTable(readFileSync(TABLE, 'utf8'));

    it('reads every row of the seed table', () => {
      expect(seed).toHaveLength(60);
      expect(seed[0]).toEqual({ id: '/init', description: 'Initialize update operation', requires: [] });
      expect(seed.find((r) => r.id === '/masters/node-2/drain')).toEqual({
        id: '/masters/node-2/drain',
        description: 'Drain node "node-2"',
        requires: [],
      });
    });

    it('builds the demo plan with the seed ids, order, descriptions and requires', () => {
      const built = rows(buildUpgradePlan(SCENARIOS['demo-3-masters']!).phases);
      expect(built.map((r) => r.id)).toEqual(seed.map((r) => r.id));
      expect(built).toEqual(seed);
    });
  });
});
