/** What every benchmark file shares: a row of the table, timing, medians and the table itself. */

/** One line of the benchmark table; a row without a target is a baseline, shown for comparison. */
export interface Row {
  what: string;
  measured: number;
  unit: string;
  target?: number;
  /** The target is a floor (an efficiency), not a ceiling. */
  atLeast?: boolean;
  /** A count: shown without decimals. */
  count?: boolean;
}

/** Runs `fn` and returns its value and how long it took, ms. */
export async function timed<T>(fn: () => Promise<T> | T): Promise<[T, number]> {
  const t0 = performance.now();
  const value = await fn();
  return [value, performance.now() - t0];
}

/** Median of several runs, so one GC pause does not decide the figure. */
export async function median(runs: number, fn: (i: number) => Promise<number>): Promise<number> {
  const samples: number[] = [];
  for (let i = 0; i < runs; i++) samples.push(await fn(i));
  samples.sort((a, b) => a - b);
  return samples[Math.floor(samples.length / 2)]!;
}

/** The table `npm run bench` prints: measured next to target, never asserted. */
export function renderRows(rows: Row[]): string {
  const width = Math.max(...rows.map((r) => r.what.length));
  const out = [`${'benchmark'.padEnd(width)}  ${'measured'.padStart(10)}  ${'target'.padStart(10)}  result`];
  for (const r of rows) {
    const fmt = (n: number) => `${n < 10 && !r.count ? n.toFixed(2) : n.toFixed(0)} ${r.unit}`.trimEnd().padStart(10);
    const target = r.target === undefined ? '-'.padStart(10) : `${r.atLeast ? '≥' : '≤'}${fmt(r.target).trim()}`.padStart(10);
    const met = r.target !== undefined && (r.atLeast ? r.measured >= r.target : r.measured <= r.target);
    const result = r.target === undefined ? 'baseline' : met ? 'met' : 'NOT MET';
    out.push(`${r.what.padEnd(width)}  ${fmt(r.measured)}  ${target}  ${result}`);
  }
  return `${out.join('\n')}\n`;
}
