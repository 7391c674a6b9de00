/**
 * A streaming pass over YAML tokens (yaml's own Lexer) that refuses a document too deep or too
 * large before it is parsed: yaml's parser and composer recurse per nesting level and keep every
 * node, so a small file of deep brackets or a long flow list would otherwise exhaust the stack,
 * memory or time. The pass stops at the first limit crossed and holds no tokens.
 */
import { CST, Lexer } from 'yaml';

/** What the pass found wrong, if anything. */
export type ShapeProblem = { kind: 'depth' | 'items'; limit: number; line: number };

const ITEM = new Set([
  'scalar',
  'single-quoted-scalar',
  'double-quoted-scalar',
  'block-scalar-header',
  'alias',
  'flow-map-start',
  'flow-seq-start',
  'seq-item-ind',
  'map-value-ind',
  'explicit-key-ind',
]);

/**
 * Checks nesting depth (block indentation levels, compact `- -` items and open brackets
 * together) and the number of items (keys, values and indicators) against the limits.
 */
export function checkYamlShape(text: string, limits: { depth: number; items: number }): ShapeProblem | undefined {
  const indents: number[] = [];
  let line = 1;
  let atLineStart = true;
  let column = 0;
  let lineItems = 0;
  let flow = 0;
  let items = 0;
  for (const token of new Lexer().lex(text)) {
    const type = CST.tokenType(token);
    if (type === 'newline') {
      line++;
      atLineStart = true;
      column = 0;
      lineItems = 0;
      continue;
    }
    if (type === 'space' && atLineStart) {
      column = token.length;
      continue;
    }
    if (type === 'space' || type === 'comment' || type === 'doc-mode' || type === null) continue;
    if (atLineStart && flow === 0) {
      atLineStart = false;
      while (indents.length > 0 && indents[indents.length - 1]! > column) indents.pop();
      if (indents[indents.length - 1] !== column) indents.push(column);
    }
    atLineStart = false;
    if (type === 'seq-item-ind') lineItems++;
    if (type === 'flow-map-start' || type === 'flow-seq-start') flow++;
    if (type === 'flow-map-end' || type === 'flow-seq-end') flow = Math.max(0, flow - 1);
    if (indents.length + lineItems + flow > limits.depth) return { kind: 'depth', limit: limits.depth, line };
    if (type !== undefined && ITEM.has(type) && ++items > limits.items) return { kind: 'items', limit: limits.items, line };
  }
  return undefined;
}
