/** Progress lines of a run (spec §5.3): what the operator watches at 3 a.m. */

/** Receives human progress lines; the CLI writes them to stderr. */
export interface ProgressSink {
  line(text: string): void;
}

/** A sink that drops everything (library callers that only want results). */
export const silentProgress: ProgressSink = { line: () => undefined };

/** "less than a second", "1 second", "27 seconds", "3 minutes", "1 hour 5 minutes". */
export function humanDuration(ms: number): string {
  const seconds = Math.floor(ms / 1000);
  if (seconds < 1) return 'less than a second';
  const plural = (n: number, unit: string): string => `${n} ${unit}${n === 1 ? '' : 's'}`;
  if (seconds < 60) return plural(seconds, 'second');
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return plural(minutes, 'minute');
  const hours = Math.floor(minutes / 60);
  const rest = minutes % 60;
  return rest ? `${plural(hours, 'hour')} ${plural(rest, 'minute')}` : plural(hours, 'hour');
}

/** "locally" or "on node-2". */
export type Placement = string;

/**
 * Prints `Still executing "P" on node-2 (10 seconds elapsed)` every `everyMs` while a step runs,
 * with the executor's latest live status appended. Returns a stop function.
 */
export function startTicker(
  sink: ProgressSink,
  verb: 'executing' | 'rolling back',
  id: string,
  where: Placement,
  status: () => string | undefined,
  everyMs: number,
  /** Also told of each tick: the line's text without the tab, and the latest status. */
  onTick?: (line: string, status: string | undefined) => void,
): () => void {
  const started = Date.now();
  const title = verb === 'executing' ? 'Still executing' : 'Still rolling back';
  const timer = setInterval(() => {
    const extra = status();
    const elapsed = humanDuration(Math.round((Date.now() - started) / 1000) * 1000);
    const line = `${title} "${id}" ${where} (${elapsed} elapsed)${extra ? `: ${extra}` : ''}`;
    sink.line(`\t${line}`);
    onTick?.(line, extra);
  }, everyMs);
  timer.unref();
  return () => clearInterval(timer);
}

/** `Thu Mar  4 04:09:57 UTC`, as Gravity stamped its progress lines (and `plan --tail` its changes). */
export function progressStamp(d = new Date()): string {
  return d
    .toUTCString()
    .replace(
      /^(\w+), (\d+) (\w+) \d+ ([\d:]+) GMT$/,
      (_m, day: string, date: string, mon: string, time: string) => `${day} ${mon} ${date.padStart(2, ' ')} ${time} UTC`,
    );
}
