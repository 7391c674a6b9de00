/**
 * Record checks shared by the store backends: names, schemas, compare-and-set, and the errors
 * both backends raise for the same conditions.
 */
import type { z } from 'zod';
import { issueLines } from '../durable-files.js';
import { InputError, StateError } from '../errors.js';
import { walk } from '../plan/query.js';
import type { Plan } from '../plan/types.js';
import { SAFE_NAME } from './schema.js';
import type { OperationRecord } from './store.js';

export function phaseIds(plan: Plan): ReadonlySet<string> {
  const ids = new Set<string>();
  walk(plan.phases, (p) => {
    ids.add(p.id);
  });
  return ids;
}

/** True for a name `safeName` accepts. */
export function isSafeName(name: string): boolean {
  return SAFE_NAME.test(name);
}

export function safeName(name: string, what: string): string {
  if (SAFE_NAME.test(name)) return name;
  throw new InputError('ERR_STORE_BAD_NAME', `${what} "${name}" cannot be used as a directory name`, {
    hint: 'use letters, digits, ".", "_" and "-", starting with a letter or digit',
  });
}

export function checkRecord(schema: z.ZodType, value: unknown, file: string): void {
  const res = schema.safeParse(value);
  if (res.success) return;
  throw new StateError('ERR_STORE_INVALID_RECORD', `refusing to write an invalid record to ${file}`, {
    hint: 'this is a bug in the caller: the record does not match its schema',
    details: issueLines(res.error),
  });
}

/** Compare-and-set: refuses when the stored record is not the one the caller read. */
export function checkUnchanged<T>(current: T | undefined, expect: T | null, file: string): void {
  if (canonical(current ?? null) === canonical(expect)) return;
  throw new StateError(
    'ERR_STORE_CONFLICT',
    current === undefined
      ? `store file ${file} does not exist, but the write expected it`
      : `store file ${file} changed since this command read it`,
    { hint: 're-run the command: it reads the record again and decides on what is stored now' },
  );
}

/** JSON with sorted keys, so that key order never makes two equal records differ. */
export function canonical(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    v && typeof v === 'object' && !Array.isArray(v) ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => cmp(a, b))) : v,
  );
}

export function operationExists(op: OperationRecord, dir: string): StateError {
  return new StateError('ERR_STORE_OPERATION_EXISTS', `operation ${op.id} already exists in cluster "${op.cluster}" (${dir})`, {
    hint: 'operation ids must be unique; create the operation with a new id',
  });
}

export function operationNotFound(cluster: string, id: string, dir: string): StateError {
  return new StateError('ERR_STORE_OPERATION_NOT_FOUND', `operation ${id} not found in cluster "${cluster}" (${dir})`, {
    hint: 'list the operations of the cluster to find its id',
  });
}

export function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
