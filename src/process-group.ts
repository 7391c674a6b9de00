/**
 * Stopping a child together with everything it started. Hooks and kubectl run detached in their
 * own process group; stopping one signals the whole group (TERM, then KILL after a grace), so a
 * shell's children or kubectl's helpers never outlive the stop.
 */

/** After SIGTERM, a group gets this long to exit before SIGKILL. */
export const KILL_GRACE_MS = 5000;

/** Signals every process of group `pid`; a group already gone is not an error. */
export function killGroup(pid: number | undefined, signal: NodeJS.Signals): void {
  if (pid === undefined) return;
  try {
    process.kill(-pid, signal);
  } catch {
    // The group is already gone.
  }
}

/**
 * Stops group `pid` when `signal` aborts: TERM at once, KILL after `graceMs`. Returns the
 * function that disarms it (call it once the child has exited).
 */
export function stopGroupOnAbort(pid: number | undefined, signal: AbortSignal, graceMs = KILL_GRACE_MS): () => void {
  let grace: NodeJS.Timeout | undefined;
  const onAbort = (): void => {
    killGroup(pid, 'SIGTERM');
    grace ??= setTimeout(() => killGroup(pid, 'SIGKILL'), graceMs);
  };
  if (signal.aborted) onAbort();
  else signal.addEventListener('abort', onAbort, { once: true });
  return () => {
    clearTimeout(grace);
    signal.removeEventListener('abort', onAbort);
  };
}
