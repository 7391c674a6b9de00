/**
 * A parsed YAML file that remembers where every node sits, so a problem found later by zod or
 * by a cross-field rule can be reported with the line it comes from.
 */
import { type Document, isMap, isScalar, isSeq, LineCounter, parseDocument } from 'yaml';
import { InputError } from '../errors.js';
import { type LimitName, limit, limitVariable, showBytes } from './limits.js';
import { invalidInput, type Problem } from './problems.js';
import { ReadRefused, readRegularFile } from './read-input.js';
import { checkYamlShape } from './yaml-shape.js';

/** One YAML document and its plain value. */
export interface YamlSource {
  /** The file as named to the user (as given, or resolved from a referencing file). */
  file: string;
  doc: Document;
  lines: LineCounter;
  data: unknown;
}

/** Message of a yaml error without the "at line X, column Y:" excerpt that follows it. */
function shortMessage(message: string): string {
  return message.replace(/ at line \d+, column \d+:[\s\S]*$/, '').split('\n')[0] ?? message;
}

/** The limit a refused document crossed, with what to do about it. */
function overLimit(file: string, line: number | undefined, what: string, name: LimitName, hint: string): InputError {
  return invalidInput(
    file,
    [{ path: [], line, message: what }],
    `${hint}; if the file is right, raise the limit with ${limitVariable(name)}`,
  );
}

/** Parses YAML text; syntax errors become one InputError naming file and line. */
export function parseYaml(text: string, file: string, hint: string): YamlSource {
  const maxBytes = limit('yamlBytes');
  if (text.length > maxBytes)
    throw overLimit(file, undefined, `larger than the ${showBytes(maxBytes)} limit for YAML input`, 'yamlBytes', hint);
  const shape = checkYamlShape(text, { depth: limit('depth'), items: limit('yamlNodes') });
  if (shape?.kind === 'depth') throw overLimit(file, shape.line, `nested deeper than ${shape.limit} levels`, 'depth', hint);
  if (shape?.kind === 'items')
    throw overLimit(file, shape.line, `more than ${shape.limit} YAML items (keys, values, indicators)`, 'yamlNodes', hint);
  const lines = new LineCounter();
  // yaml compares each new key with every earlier one (quadratic in a large mapping), so
  // duplicate keys are found here instead, with one set per mapping.
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: true, uniqueKeys: false });
  const problems: Problem[] = doc.errors.map((err) => ({
    path: [],
    line: err.linePos?.[0].line,
    message: `invalid YAML: ${shortMessage(err.message)}`,
  }));
  problems.push(...duplicateKeys(doc, lines));
  let data: unknown;
  if (problems.length === 0) {
    try {
      data = doc.toJS({ maxAliasCount: 100 });
    } catch (err) {
      // Unresolved aliases and alias bombs only surface when the tree is converted.
      problems.push({ path: [], message: `invalid YAML: ${err instanceof Error ? err.message : String(err)}` });
    }
  }
  if (problems.length > 0) throw invalidInput(file, problems, hint);
  return { file, doc, lines, data };
}

/** Keys that appear twice in one mapping, found without recursion (depth is capped, but cheaply). */
function duplicateKeys(doc: Document, lines: LineCounter): Problem[] {
  const problems: Problem[] = [];
  const stack: unknown[] = [doc.contents];
  while (stack.length > 0) {
    const node = stack.pop();
    if (isMap(node)) {
      const seen = new Set<string>();
      for (const pair of node.items) {
        const key = isScalar(pair.key) ? `${typeof pair.key.value}:${String(pair.key.value)}` : undefined;
        if (key !== undefined && seen.has(key)) {
          const at = (pair.key as { range?: [number, number, number] }).range?.[0];
          problems.push({
            path: [],
            line: at === undefined ? undefined : lines.linePos(at).line,
            message: 'invalid YAML: Map keys must be unique',
          });
        }
        if (key !== undefined) seen.add(key);
        stack.push(pair.value);
      }
    } else if (isSeq(node)) stack.push(...node.items);
  }
  return problems;
}

/** Reads a regular file of at most `cap` bytes as UTF-8; anything else is an InputError naming it. */
export async function readInputText(file: string, what: string, hint: string, cap: LimitName = 'yamlBytes'): Promise<string> {
  try {
    return (await readRegularFile(file, cap)).toString('utf8');
  } catch (err) {
    if (!(err instanceof ReadRefused)) throw err;
    if (err.reason === 'missing') {
      throw new InputError('ERR_INPUT_NOT_FOUND', `${file}: ${what} not found`, {
        hint: `check the path, or create the ${what}`,
        cause: err,
      });
    }
    if (err.reason === 'directory') {
      throw new InputError('ERR_INPUT_INVALID', `${file}: is a directory, expected a ${what} (YAML file)`, { hint });
    }
    if (err.reason === 'unreadable') {
      throw new InputError('ERR_INPUT_UNREADABLE', `${file}: cannot read ${what}: ${err.message}`, {
        hint: 'check the file permissions',
        cause: err,
      });
    }
    const code = err.reason === 'too-large' ? 'ERR_INPUT_TOO_LARGE' : 'ERR_INPUT_NOT_REGULAR';
    throw new InputError(code, `${file}: ${what} ${err.message}`, { hint: err.hint ?? `pass the path of a regular ${what} file` });
  }
}

/** Reads and parses a YAML file; a missing file is ERR_INPUT_NOT_FOUND. */
export async function readYaml(file: string, what: string, hint: string): Promise<YamlSource> {
  return parseYaml(await readInputText(file, what, hint), file, hint);
}

/** Line of the key or item at `path`, else of its deepest existing ancestor; none for the root. */
function lineOf(source: YamlSource, path: readonly PropertyKey[]): number | undefined {
  let node: unknown = source.doc.contents;
  let line: number | undefined;
  const at = (n: unknown): number | undefined => {
    const range = (n as { range?: [number, number, number] } | null)?.range;
    return range ? source.lines.linePos(range[0]).line : undefined;
  };
  for (const segment of path) {
    if (isMap(node)) {
      const pair = node.items.find((p) => String((p.key as { value?: unknown } | null)?.value ?? p.key) === String(segment));
      if (!pair) return line;
      line = at(pair.key) ?? line;
      node = pair.value;
    } else if (isSeq(node) && typeof segment === 'number') {
      const item = node.items[segment];
      if (item === undefined) return line;
      line = at(item) ?? line;
      node = item;
    } else {
      return line;
    }
  }
  return line;
}

/** Fills in the line of every problem that has none, from its path. */
export function locate(source: YamlSource, problems: readonly Problem[]): Problem[] {
  return problems.map((p) => (p.line === undefined ? { ...p, line: lineOf(source, p.path) } : p));
}
