/**
 * The plan as people read it: the seeds' table (`Phase Description State Node Requires Updated`,
 * two spaces of indent per depth, then the state marker), the short form, and JSON/YAML dumps.
 */
import { stringify } from 'yaml';
import type { PhaseState, PhaseView, PlanView } from '../../plan/types.js';
import { describeTakeover } from '../../store/lock.js';
import type { LeaseTakeover, OperationRecord } from '../../store/store.js';
import { printable } from '../../text.js';

const MARKERS: Record<PhaseState, string> = {
  unstarted: '*',
  in_progress: '→',
  completed: '✓',
  failed: '×',
  rolled_back: '⤺',
};
const NAMES: Record<PhaseState, string> = {
  unstarted: 'Unstarted',
  in_progress: 'In Progress',
  completed: 'Completed',
  failed: 'Failed',
  rolled_back: 'Rolled Back',
};

/** Column gap of the seeds' tables. */
const GAP = 5;

const DAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** `Thu Mar  4 04:56 UTC` (Go's `Mon Jan _2 15:04 UTC`). */
export function formatUpdated(iso: string | undefined): string {
  if (!iso) return '-';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return '-';
  const pad = (n: number): string => String(n).padStart(2, '0');
  return `${DAYS[d.getUTCDay()]} ${MONTHS[d.getUTCMonth()]} ${String(d.getUTCDate()).padStart(2, ' ')} ${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())} UTC`;
}

function stateName(p: PhaseView): string {
  if (p.interrupted && p.state === 'in_progress') return 'Interrupted';
  return p.override ? `${NAMES[p.state]} (set by hand)` : NAMES[p.state];
}

/** Lays out rows so each column is as wide as its widest cell plus the gap. */
export function columns(rows: string[][]): string {
  const widths: number[] = [];
  for (const row of rows) {
    for (const [i, cell] of row.entries()) widths[i] = Math.max(widths[i] ?? 0, [...cell].length);
  }
  return rows
    .map((row) => row.map((cell, i) => (i === row.length - 1 ? cell : cell + ' '.repeat(widths[i]! - [...cell].length + GAP))).join(''))
    .join('\n');
}

/** The full table. Node shows the address of the node that runs the phase (groups: `-`). */
export function renderPlanTable(view: PlanView): string {
  const address = new Map(view.servers.map((s) => [s.name, s.address]));
  const rows: string[][] = [
    ['Phase', 'Description', 'State', 'Node', 'Requires', 'Updated'],
    ['-----', '-----------', '-----', '----', '--------', '-------'],
  ];
  const visit = (phases: PhaseView[], depth: number): void => {
    for (const p of phases) {
      const name = p.id.slice(p.id.lastIndexOf('/') + 1);
      const isGroup = !!p.phases?.length;
      rows.push([
        `${'  '.repeat(depth)}${MARKERS[p.state]} ${name}`,
        p.description,
        stateName(p),
        !isGroup && p.node ? (address.get(p.node) ?? p.node) : '-',
        p.requires.length ? p.requires.join(',') : '-',
        formatUpdated(p.updated),
      ]);
      if (p.phases) visit(p.phases, depth + 1);
    }
  };
  visit(view.phases, 0);
  return `${columns(rows)}\n${overrideNote(view)}${failureNote(view)}`;
}

/** `Phase State Updated` with full ids. */
export function renderPlanShort(view: PlanView): string {
  const rows: string[][] = [
    ['Phase', 'State', 'Updated'],
    ['-----', '-----', '-------'],
  ];
  const visit = (phases: PhaseView[]): void => {
    for (const p of phases) {
      rows.push([`${MARKERS[p.state]} ${p.id}`, stateName(p), formatUpdated(p.updated)]);
      if (p.phases) visit(p.phases);
    }
  };
  visit(view.phases);
  return `${columns(rows)}\n${overrideNote(view)}${failureNote(view)}`;
}

/** Lists the states set by hand (`hoist plan set`), with who set them and why. */
function overrideNote(view: PlanView): string {
  const lines: string[] = [];
  const visit = (phases: PhaseView[]): void => {
    for (const p of phases) {
      if (p.phases?.length) visit(p.phases);
      else if (p.override) {
        const o = p.override;
        lines.push(`\t${p.id}: ${NAMES[p.state]} by ${o.by} at ${formatUpdated(p.updated)}: ${printable(o.reason, 300)}\n`);
      }
    }
  };
  visit(view.phases);
  return lines.length ? `\nSet by hand ("hoist plan set"):\n${lines.join('')}` : '';
}

/** Explains the first failed leaf under the table, as Gravity did. */
function failureNote(view: PlanView): string {
  let failed: PhaseView | undefined;
  const find = (phases: PhaseView[]): void => {
    for (const p of phases) {
      if (failed) return;
      if (p.phases?.length) find(p.phases);
      else if (p.state === 'failed') failed = p;
    }
  };
  find(view.phases);
  if (!failed) return '';
  const output = (failed.error?.output ?? []).map((l) => `\t  ${printable(l, 300)}\n`).join('');
  return `\nThe ${failed.id} phase ("${failed.description}") has failed\n\t${failed.error?.message ?? 'no error recorded'}\n${output}`;
}

interface JsonPhase {
  id: string;
  description: string;
  state: PhaseState;
  interrupted?: boolean;
  node: string | null;
  address: string | null;
  server: string | null;
  executor: string | null;
  requires: string[];
  parallel?: number;
  updated: string | null;
  error: { code: string; message: string } | null;
  /** The state was set by hand: why and by whom. */
  override?: { reason: string; by: string };
  /** What the phase would do (dry runs). */
  does?: string;
  phases: JsonPhase[];
}

/** `{operation, phases}` for `-o json` / `-o yaml`. */
export function planDocument(
  view: PlanView,
  operation?: OperationRecord,
  does?: ReadonlyMap<string, string>,
): { operation: unknown; phases: JsonPhase[] } {
  const address = new Map(view.servers.map((s) => [s.name, s.address]));
  const map = (p: PhaseView): JsonPhase => ({
    id: p.id,
    description: p.description,
    state: p.state,
    ...(p.interrupted ? { interrupted: true } : {}),
    node: p.node ?? null,
    address: p.node ? (address.get(p.node) ?? null) : null,
    server: p.server ?? null,
    executor: p.executor ?? null,
    requires: p.requires,
    ...(p.parallel !== undefined ? { parallel: p.parallel } : {}),
    updated: p.updated ?? null,
    error: p.error ?? null,
    ...(p.override ? { override: p.override } : {}),
    ...(does?.has(p.id) ? { does: does.get(p.id) } : {}),
    phases: (p.phases ?? []).map(map),
  });
  const { phases: _phases, ...planInfo } = view;
  return { operation: operation ?? { id: view.operationId, ...planInfo, state: 'planned' }, phases: view.phases.map(map) };
}

/** Renders a plan in the requested format. */
export function renderPlan(
  view: PlanView,
  format: string,
  operation?: OperationRecord,
  does?: ReadonlyMap<string, string>,
  takeover?: LeaseTakeover,
): string {
  const doc = () => ({ ...planDocument(view, operation, does), ...(takeover ? { takeover } : {}) });
  const note = takeover ? `Ownership: ${describeTakeover(takeover)}\n` : '';
  switch (format) {
    case 'json':
      return `${JSON.stringify(doc(), null, 2)}\n`;
    case 'yaml':
      return stringify(doc());
    case 'short':
      return renderPlanShort(view) + note;
    default:
      return renderPlanTable(view) + note;
  }
}
