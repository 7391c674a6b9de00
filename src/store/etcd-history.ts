/**
 * The status history on etcd: one key per event, `<cluster>/history/<at>-<random>`, so appenders
 * never conflict (the history is not fenced, store.ts) and a prefix read in key order is oldest first.
 */
import { randomBytes } from 'node:crypto';
import type { Etcd3 } from 'etcd3';
import { corruptFile, issueLines } from '../durable-files.js';
import { historyEventSchema } from './schema.js';
import type { HistoryEvent } from './store.js';

/** The key of a new event under `prefix` (`…/history/`). */
export function historyKey(prefix: string, event: HistoryEvent): string {
  return `${prefix}${event.at}-${randomBytes(6).toString('hex')}`;
}

/** Every event under `prefix`, oldest first; a damaged one is ERR_STORE_CORRUPT naming its key. */
export async function readHistoryKeys(client: Etcd3, prefix: string): Promise<HistoryEvent[]> {
  const kvs = (await client.getAll().prefix(prefix).exec()).kvs;
  const events = kvs.map((kv) => {
    const key = kv.key.toString();
    let value: unknown;
    try {
      value = JSON.parse(kv.value.toString('utf8'));
    } catch {
      throw corruptFile(`etcd key ${key}`, 'is not valid JSON');
    }
    const parsed = historyEventSchema.safeParse(value);
    if (!parsed.success) {
      const err = corruptFile(`etcd key ${key}`, 'is not a valid history event');
      err.details.push(...issueLines(parsed.error));
      throw err;
    }
    return { key, event: parsed.data as HistoryEvent };
  });
  return events.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0)).map((e) => e.event);
}
