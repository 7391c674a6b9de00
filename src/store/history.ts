/**
 * The status history file (`<cluster>/history.ndjson`): one HistoryEvent per line, oldest first.
 * Any command may append (no lease: the history records what was seen, not state). An append is
 * one write(2) of a short line in append mode plus fdatasync, so concurrent appenders interleave
 * whole lines; a crash can only tear the last line, which readers skip and the next append
 * closes with a newline first so the torn bytes never join the next entry.
 */
import { promises as fs } from 'node:fs';
import { corruptFile, readStoreFile } from '../durable-files.js';
import { historyEventSchema } from './schema.js';
import type { HistoryEvent } from './store.js';

/** Appends `event` durably, creating the file (0600) when needed. */
export async function appendHistoryLine(file: string, event: HistoryEvent): Promise<void> {
  const handle = await fs.open(file, 'a+', 0o600);
  try {
    const { size } = await handle.stat();
    let lead = '';
    if (size > 0) {
      const last = Buffer.alloc(1);
      await handle.read(last, 0, 1, size - 1);
      if (last[0] !== 0x0a) lead = '\n';
    }
    await handle.write(`${lead}${JSON.stringify(event)}\n`);
    await handle.datasync();
  } finally {
    await handle.close();
  }
}

/**
 * Reads the history. A line that is not a valid event is skipped when it is the last one or was
 * closed off by a later append (a torn write); elsewhere it is ERR_STORE_CORRUPT naming the line.
 */
export async function readHistoryFile(file: string): Promise<HistoryEvent[]> {
  const buf = await readStoreFile(file);
  if (!buf) return [];
  const lines = buf.toString('utf8').split('\n');
  const events: HistoryEvent[] = [];
  for (const [i, text] of lines.entries()) {
    if (!text.trim()) continue;
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch {
      // Torn bytes: unterminated (the last line) or terminated by the next append's newline.
      if (i === lines.length - 1 || !text.endsWith('}')) continue;
      throw corruptFile(file, `line ${i + 1} is not valid JSON`);
    }
    const parsed = historyEventSchema.safeParse(value);
    if (!parsed.success) throw corruptFile(file, `line ${i + 1} is not a valid history event`);
    events.push(parsed.data as HistoryEvent);
  }
  return events;
}
