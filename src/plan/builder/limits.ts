/** Concurrency limits of per-node groups, from the `parallel` and `maxUnavailableWorkers` inputs. */
import { InputError } from '../../errors.js';

const PERCENT = /^(\d{1,3})%$/;

/** Throws unless `parallel` is absent or a positive integer. */
export function checkParallel(parallel: number | undefined): void {
  if (parallel === undefined) return;
  if (!Number.isInteger(parallel) || parallel < 1) {
    throw new InputError('ERR_PARALLEL_INVALID', `parallel: ${parallel} is not a positive whole number of nodes`, {
      hint: 'set parallel to 1 or more, or leave it out to handle every node at once',
    });
  }
}

/** Throws unless `value` is absent, a positive integer, or a percentage from 1% to 100%. */
export function checkMaxUnavailable(value: number | string | undefined): void {
  if (value === undefined) return;
  const percent = typeof value === 'string' ? Number(PERCENT.exec(value)?.[1] ?? NaN) : NaN;
  const ok = typeof value === 'number' ? Number.isInteger(value) && value >= 1 : percent >= 1 && percent <= 100;
  if (!ok) {
    throw new InputError('ERR_MAX_UNAVAILABLE_INVALID', `maxUnavailableWorkers: "${value}" is neither a positive count nor a percentage`, {
      hint: 'use a count such as 2 or a percentage of the workers such as "25%"',
    });
  }
}

/** Parallel limit of a per-node group (`/init`, `/bootstrap`, `/config`, `/gc`). */
export function nodeParallel(children: number, parallel: number | undefined): number {
  return Math.max(1, Math.min(children, parallel ?? children));
}

/**
 * Parallel limit of `/workers`: a count, or a percentage of the workers being upgraded rounded
 * down; never below one (or nothing would run) nor above the number of workers.
 */
export function workerParallel(workers: number, value: number | string | undefined): number {
  let limit = 1;
  if (typeof value === 'number') limit = value;
  else if (typeof value === 'string') limit = Math.floor((workers * Number(PERCENT.exec(value)?.[1] ?? 0)) / 100);
  return Math.max(1, Math.min(workers, limit));
}
