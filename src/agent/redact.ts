/**
 * Redaction of what `hoist report` collects: private keys, and the values of keys, tokens and
 * passwords wherever they appear as `name=value`, `name: value` or `"name": "value"`, and bearer
 * tokens. Applied on the node before anything leaves it and again by the orchestrator on its own
 * files, so a support archive carries no secret a log line or a hook's output happened to print.
 */

/** What replaces a secret. */
export const REDACTED = '[REDACTED]';

// A block already redacted is skipped: with no END line left, it would match to the end of the text.
const PEM = /-----BEGIN ([A-Z0-9 ]*)PRIVATE KEY-----(?! \[REDACTED\])[\s\S]*?(?:-----END \1PRIVATE KEY-----|$)/g;
// Bounded and anchored at the start of a name: an unbounded `[\w.-]*` on both sides made a long
// run of word characters (a base64 blob in a log) quadratic to scan.
const SECRET_NAME = String.raw`(?<![\w.-])[\w.-]{0,40}?(?:password|passwd|passphrase|secret|token|api[_-]?key|private[_-]?key|access[_-]?key|credentials?|auth)[\w.-]{0,40}`;
/** `"name": "value"` (JSON), `name: value` (YAML), `name=value` (env, flags): the value goes. */
// A value already redacted is left alone: the orchestrator redacts what the node redacted, and
// `[REDACTED]` read as a bare value would become `[REDACTED]]`.
const ASSIGNMENT = new RegExp(
  String.raw`(["']?${SECRET_NAME}["']?\s*[:=]\s*)(?!\[REDACTED\])("(?:[^"\\]|\\.)*"|'[^']*'|[^\s,;}\]"']+)`,
  'gi',
);
const BEARER = /\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]{8,}/gi;

/** `text` with every secret it shows replaced by [REDACTED]. */
export function redact(text: string): string {
  return text
    .replace(PEM, `-----BEGIN $1PRIVATE KEY----- ${REDACTED}`)
    .replace(BEARER, `$1 ${REDACTED}`)
    .replace(ASSIGNMENT, (_m, name: string, value: string) => {
      const quote = value.startsWith('"') ? '"' : value.startsWith("'") ? "'" : '';
      return `${name}${quote}${REDACTED}${quote}`;
    });
}
