/** Small file helpers of the node-side tests. */
import { promises as fs } from 'node:fs';

/** The text of `file` without surrounding whitespace; undefined when it cannot be read. */
export async function readTrimmed(file: string): Promise<string | undefined> {
  return fs.readFile(file, 'utf8').then(
    (t) => t.trim(),
    () => undefined,
  );
}

/** A pid written in a pid file, if it looks like one. */
export function toPid(text: string | undefined): number | undefined {
  const pid = Number.parseInt(text ?? '', 10);
  return Number.isInteger(pid) && pid > 1 ? pid : undefined;
}

/** True when `file` exists. */
export async function exists(file: string): Promise<boolean> {
  return fs.stat(file).then(
    () => true,
    () => false,
  );
}

/** Flips one byte in the middle of `file`. */
export async function flipByte(file: string): Promise<void> {
  const data = await fs.readFile(file);
  const i = Math.floor(data.length / 2);
  data[i] = (data[i] as number) ^ 0xff;
  await fs.writeFile(file, data);
}
