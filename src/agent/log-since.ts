/**
 * `hoist report --since` on log files: a line is kept when its own timestamp is at or after the
 * cutoff. The formats read are the ones the node's logs use: an ISO 8601 time opening the line
 * (`2026-11-29T08:00:00.000Z runtime …`) and a JSON line's `time`/`ts`/`timestamp` field (pino's
 * epoch milliseconds, zap's ISO text or epoch seconds as etcd writes). A line without one (a stack
 * trace, a wrapped message) goes with the line before it; lines before the first stamped line are
 * kept, since nothing says they are old. A log with no stamped line at all is kept whole.
 */

/** A log's lines from the cutoff on, and what was done, for the file's header. */
export interface FilteredLog {
  text: string;
  /** Lines left out as older than the cutoff. */
  dropped: number;
  /** Lines in all. */
  total: number;
  /** Whether any line carried a timestamp the filter could read. */
  stamped: boolean;
}

const ISO = /^\[?(\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(?:[.,]\d+)?(?:Z|[+-]\d{2}:?\d{2})?)/;
const JSON_TIME = /"(?:time|ts|timestamp)"\s*:\s*(?:"([^"]+)"|(\d+(?:\.\d+)?))/;

/** The time (epoch ms) a log line carries, if it carries one this filter reads. */
export function lineTime(line: string): number | undefined {
  const iso = ISO.exec(line)?.[1];
  if (iso) return finite(Date.parse(iso.replace(' ', 'T').replace(',', '.')));
  if (!line.startsWith('{')) return undefined;
  const m = JSON_TIME.exec(line);
  if (!m) return undefined;
  if (m[1] !== undefined) return finite(Date.parse(m[1]));
  const n = Number(m[2]);
  // Seconds (zap's epoch format) are told from milliseconds by size: 1e11 s is the year 5138.
  return n < 1e11 ? n * 1000 : n;
}

function finite(n: number): number | undefined {
  return Number.isFinite(n) ? n : undefined;
}

/** The lines of `text` from `since` (epoch ms) on; everything when `since` is 0. */
export function logSince(text: string, since: number): FilteredLog {
  const lines = text.split('\n');
  if (lines.at(-1) === '') lines.pop();
  let keep = true;
  let stamped = false;
  const out: string[] = [];
  for (const line of lines) {
    const time = since ? lineTime(line) : undefined;
    if (time !== undefined) {
      stamped = true;
      keep = time >= since;
    }
    if (keep) out.push(line);
  }
  return { text: out.length ? `${out.join('\n')}\n` : '', dropped: lines.length - out.length, total: lines.length, stamped };
}

/** The header line of a filtered log in the archive: where it came from and what was left out. */
export function logHeader(source: string, since: number, log: FilteredLog, truncatedBytes: number): string {
  const filter = !since
    ? 'every line (no --since)'
    : !log.stamped
      ? `not filtered by --since: none of its ${log.total} lines carries a timestamp this report reads`
      : `lines stamped ${new Date(since).toISOString()} or later (and the unstamped lines that follow them): ${log.dropped} of ${log.total} lines left out`;
  const cut = truncatedBytes ? `; then its oldest ${truncatedBytes} bytes left out to keep the report within its bound` : '';
  return `# hoist report: ${source}: ${filter}${cut}\n`;
}
