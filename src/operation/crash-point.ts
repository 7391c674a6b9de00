/**
 * Crash injection for tests of the record repair: with HOIST_TEST_CRASH_AT=<point> the process
 * dies at that point as a power cut would (SIGKILL: no handler, no cleanup, no lock release).
 */

/** The points between two record writes. */
export type CrashPoint = 'create:operation-written' | 'complete:operation-written';

/** Dies here if the test asked for it. */
export function crashPoint(point: CrashPoint): void {
  if (process.env.HOIST_TEST_CRASH_AT === point) process.kill(process.pid, 'SIGKILL');
}
