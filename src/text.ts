/**
 * Text that came from outside (file contents, names, remote output) made safe to echo: control
 * characters escaped so nothing can move the cursor or fake a line, and cut to a length so a
 * 50 MB value never reaches the terminal whole.
 */

// C0 controls, DEL and C1 controls; tab is kept as it is harmless.
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point
const CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u2028\u2029]/g;

/** `text` with control characters escaped (`\u001b`, `\n`) and cut to `max` characters with a count of the rest. */
export function printable(text: string, max: number): string {
  const cut = text.length > max ? text.slice(0, max) : text;
  const escaped = cut.replace(CONTROL, (c) =>
    c === '\n' ? '\\n' : c === '\r' ? '\\r' : `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
  return text.length > max ? `${escaped}… (${text.length - max} more characters)` : escaped;
}
