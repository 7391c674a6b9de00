/**
 * Problems found in an input file and the one InputError that reports all of them. Every
 * problem renders as `<file>:<line>: <dot.path>: <what is expected>`, line and path omitted
 * when unknown, so an operator can fix a file in one pass.
 */
import type * as z from 'zod';
import { InputError } from '../errors.js';
import { printable } from '../text.js';
import { MAX_ECHO, MAX_PROBLEMS } from './limits.js';

/** One thing wrong with a file. */
export interface Problem {
  path: readonly PropertyKey[];
  message: string;
  line?: number;
}

/** Renders an input value for a message: strings quoted, objects by kind. */
export function showValue(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  if (typeof value === 'string') return `"${printable(value, MAX_ECHO).replace(/"/g, '\\"')}"`;
  return printable(String(value), MAX_ECHO);
}

/** `spec.nodes.2.role` from `['spec', 'nodes', 2, 'role']`. */
function dotPath(path: readonly PropertyKey[]): string {
  return path.map(String).join('.');
}

/** One detail line for a problem. */
function formatProblem(file: string, problem: Problem): string {
  const where = problem.line === undefined ? file : `${file}:${problem.line}`;
  const path = dotPath(problem.path);
  return path ? `${where}: ${path}: ${problem.message}` : `${where}: ${problem.message}`;
}

/** The single error for a file with problems, detail lines in file order. */
export function invalidInput(file: string, problems: readonly Problem[], hint: string): InputError {
  // Stable sort: root-level problems (no line) first, then by line, ties in discovery order.
  const ordered = [...problems].sort((a, b) => (a.line ?? 0) - (b.line ?? 0));
  const n = ordered.length;
  const details = ordered.slice(0, MAX_PROBLEMS).map((p) => formatProblem(file, p));
  if (n > MAX_PROBLEMS) details.push(`… and ${n - MAX_PROBLEMS} more; fix the ones above and run again to see the rest`);
  return new InputError('ERR_INPUT_INVALID', `${file}: ${n} problem${n === 1 ? '' : 's'}`, { hint, details });
}

/** Prefixes every problem's path, for a document embedded in another. */
export function prefixProblems(prefix: readonly PropertyKey[], problems: readonly Problem[]): Problem[] {
  return problems.map((p) => ({ ...p, path: [...prefix, ...p.path] }));
}

const KIND: Record<string, string> = {
  object: 'a mapping',
  record: 'a mapping',
  array: 'a list',
  string: 'a string',
  number: 'a number',
  int: 'a whole number',
  boolean: 'true or false',
};

/** Per-parse error map for issues a schema did not word itself. */
function defaultMessage(issue: z.core.$ZodRawIssue): string | undefined {
  if (issue.code === 'invalid_type') {
    const want = KIND[issue.expected] ?? issue.expected;
    return issue.input === undefined ? `required: expected ${want}` : `expected ${want}, got ${showValue(issue.input)}`;
  }
  if (issue.code === 'invalid_value') {
    return `expected ${issue.values.map((v) => JSON.stringify(v)).join(' or ')}, got ${showValue(issue.input)}`;
  }
  return undefined;
}

interface DefLike {
  type: string;
  shape?: Record<string, { _zod: { def: DefLike } }>;
  element?: { _zod: { def: DefLike } };
  innerType?: { _zod: { def: DefLike } };
  valueType?: { _zod: { def: DefLike } };
  options?: Array<{ _zod: { def: DefLike } }>;
  in?: { _zod: { def: DefLike } };
}

/** Keys the schema accepts at `path`, for "unknown key" messages. */
function allowedKeys(schema: z.ZodType, path: readonly PropertyKey[]): string[] {
  let def = (schema as unknown as { _zod: { def: DefLike } })._zod.def;
  const unwrap = (): void => {
    for (;;) {
      const next = def.innerType ?? def.in ?? def.options?.find((o) => o._zod.def.type === 'object');
      if (!next) return;
      def = next._zod.def;
    }
  };
  for (const segment of path) {
    unwrap();
    const next = def.type === 'object' ? def.shape?.[String(segment)] : (def.element ?? def.valueType);
    if (!next) return [];
    def = next._zod.def;
  }
  unwrap();
  return def.type === 'object' && def.shape ? Object.keys(def.shape) : [];
}

/** Problems from a failed parse; an unrecognized-keys issue becomes one problem per key. */
function zodProblems(schema: z.ZodType, error: z.ZodError): Problem[] {
  const problems: Problem[] = [];
  for (const issue of error.issues) {
    if (issue.code === 'unrecognized_keys') {
      const allowed = allowedKeys(schema, issue.path);
      const suffix = allowed.length > 0 ? ` (expected one of: ${allowed.join(', ')})` : '';
      for (const key of issue.keys) problems.push({ path: [...issue.path, key], message: `unknown key${suffix}` });
    } else {
      problems.push({ path: issue.path, message: issue.message });
    }
  }
  return problems;
}

/** Validates `data`; on failure returns the problems instead of throwing. */
export function check<S extends z.ZodType>(
  schema: S,
  data: unknown,
): { ok: true; value: z.output<S> } | { ok: false; problems: Problem[] } {
  if (data === null || data === undefined) {
    return { ok: false, problems: [{ path: [], message: 'the document is empty; expected a mapping' }] };
  }
  const result = schema.safeParse(data, { reportInput: true, error: defaultMessage });
  return result.success ? { ok: true, value: result.data } : { ok: false, problems: zodProblems(schema, result.error) };
}
