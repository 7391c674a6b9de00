/**
 * The clusters an etcd store holds, without reading their keys: the first key at or after a
 * position names the next cluster, and the scan jumps past every key of that cluster, so listing
 * is one small read per cluster however many changes each operation has.
 */
import type { Etcd3 } from 'etcd3';

/** Cluster names under `base` (`<prefix>clusters/`), sorted; `call` bounds each read. */
export async function clusterNames(client: Etcd3, base: string, call: <T>(fn: () => Promise<T>) => Promise<T>): Promise<string[]> {
  const end = `${base.slice(0, -1)}0`; // '/' + 1
  const names: string[] = [];
  let start = base;
  for (;;) {
    const from = start;
    const [first] = await call(() => client.getAll().inRange({ start: from, end }).limit(1).keys());
    // Key order puts "demo-2/…" before "demo/…"; names sort "demo" first.
    if (!first) return names.sort();
    const name = first.slice(base.length).split('/')[0] ?? '';
    names.push(name);
    start = `${base}${name}0`; // past every "<name>/…" key
  }
}
