/**
 * A parsed YAML file that remembers where every node sits, so a problem found later by zod or
 * by a cross-field rule can be reported with the line it comes from.
 */
import { readFile } from 'node:fs/promises';
import { type Document, isMap, isSeq, LineCounter, parseDocument } from 'yaml';
import { InputError } from '../errors.js';
import { invalidInput, type Problem } from './problems.js';

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

/** Parses YAML text; syntax errors become one InputError naming file and line. */
export function parseYaml(text: string, file: string, hint: string): YamlSource {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: true });
  const problems: Problem[] = doc.errors.map((err) => ({
    path: [],
    line: err.linePos?.[0].line,
    message: `invalid YAML: ${shortMessage(err.message)}`,
  }));
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

/** Reads and parses a YAML file; a missing file is ERR_INPUT_NOT_FOUND. */
export async function readYaml(file: string, what: string, hint: string): Promise<YamlSource> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') {
      throw new InputError('ERR_INPUT_NOT_FOUND', `${file}: ${what} not found`, {
        hint: `check the path, or create the ${what}`,
        cause: err,
      });
    }
    if (code === 'EISDIR') {
      throw new InputError('ERR_INPUT_INVALID', `${file}: is a directory, expected a ${what} (YAML file)`, { hint });
    }
    throw new InputError('ERR_INPUT_UNREADABLE', `${file}: cannot read ${what}: ${(err as Error).message}`, {
      hint: 'check the file permissions',
      cause: err,
    });
  }
  return parseYaml(text, file, hint);
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
