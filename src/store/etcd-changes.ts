/**
 * The changelog on etcd: one key per change, `<prefix>changes/<op>/<seq, 12 digits>`, appended by
 * etcd-store.ts with seqs 1..n and no gap (an append needs its predecessor's key).
 *
 * How it is read decides what a long operation costs. etcd 3.4 walks the whole index of a range
 * before it applies a limit, and a sorted range fetches every value of the range before it cuts
 * it: paging one open range sorted by key, or asking for the last key sorted descending, costs
 * the whole changelog per request. So ranges here are never sorted (etcd returns key order
 * anyway) and are bounded by seq: a count (index only) sizes them, and they are read a few at a
 * time at the count's revision, so the pages together are one snapshot.
 */
import type { Etcd3, IKeyValue } from 'etcd3';
import { corruptFile, issueLines } from '../durable-files.js';
import type { PlanChange } from '../plan/types.js';
import { planChangeSchema } from './schema.js';

/** Changes per range request (about 1 MiB of response, well under gRPC's 4 MiB). */
export const PAGE = 5_000;
/** Range requests in flight at once: one per member of a 3-member etcd. */
const PARALLEL = 3;

/** Key name of a seq: 12 digits, so that key order is seq order. */
export function seqName(seq: number): string {
  return String(seq).padStart(12, '0');
}

/** The end of the range of keys under `prefix` (which ends in "/"). */
export function rangeEnd(prefix: string): string {
  return `${prefix.slice(0, -1)}0`;
}

/** Runs one etcd request, bounded (EtcdStore.call). */
type Call = <T>(what: string, fn: () => Promise<T>) => Promise<T>;

/**
 * The highest seq under `prefix` (0 when none): the count says where the last key is (seqs have no
 * gap), and the keys from there on say which it is, even in a changelog that has a gap after all.
 */
export async function lastSeq(client: Etcd3, prefix: string): Promise<number> {
  const end = rangeEnd(prefix);
  const count = await client.getAll().inRange({ start: prefix, end }).count();
  if (count === 0) return 0;
  const keys = await client
    .getAll()
    .inRange({ start: `${prefix}${seqName(count)}`, end })
    .keys();
  const last = keys.length > 0 ? keys[keys.length - 1]! : (await client.getAll().inRange({ start: prefix, end }).keys()).pop();
  return last ? Number(last.slice(prefix.length)) : 0;
}

/** True when a change above `afterSeq` exists: only the tail of the range is walked. */
export async function hasChangeAfter(client: Etcd3, prefix: string, afterSeq: number): Promise<boolean> {
  const keys = await client
    .getAll()
    .inRange({ start: `${prefix}${seqName(afterSeq + 1)}`, end: rangeEnd(prefix) })
    .limit(1)
    .keys();
  return keys.length > 0;
}

/**
 * The stored changes under `prefix` as key-values in key order, or undefined when `opKey` (the
 * operation record) does not exist. The operation's existence and the count come from one
 * transaction, whose revision every page is then read at.
 */
export async function readChangeKvs(client: Etcd3, call: Call, opKey: string, prefix: string): Promise<IKeyValue[] | undefined> {
  const end = rangeEnd(prefix);
  const head = await call('read changes', () =>
    client
      .if(opKey, 'Version', '>', 0)
      .then({ request_range: { key: Buffer.from(prefix), range_end: Buffer.from(end), count_only: true } })
      .commit(),
  );
  if (!head.succeeded) return undefined;
  const count = Number(head.responses[0]?.response_range?.count ?? 0);
  if (count === 0) return [];
  const revision = head.header.revision;
  const bounds: [string, string][] = [];
  for (let from = 1; from <= count; from += PAGE) {
    const last = from + PAGE > count;
    bounds.push([from === 1 ? prefix : `${prefix}${seqName(from)}`, last ? end : `${prefix}${seqName(from + PAGE)}`]);
  }
  const pages: IKeyValue[][] = new Array(bounds.length);
  let next = 0;
  const worker = async () => {
    for (let i = next++; i < bounds.length; i = next++) {
      const [start, stop] = bounds[i]!;
      pages[i] = await readRange(client, call, start, stop, revision);
    }
  };
  await Promise.all(Array.from({ length: Math.min(PARALLEL, bounds.length) }, worker));
  return pages.flat();
}

/** Every key-value in [start, end) at `revision`, a page at a time (a damaged range may hold more than a page). */
async function readRange(client: Etcd3, call: Call, start: string, end: string, revision: string): Promise<IKeyValue[]> {
  const out: IKeyValue[] = [];
  for (let from = start; ; ) {
    const res = await call('read changes', () => client.getAll().inRange({ start: from, end }).revision(revision).limit(PAGE).exec());
    for (const kv of res.kvs) out.push(kv);
    const last = res.kvs[res.kvs.length - 1];
    if (!res.more || !last) return out;
    from = `${last.key.toString('utf8')}\0`;
  }
}

/**
 * The changes of `kvs` (key order), each checked: a valid change, stored under its own seq, seqs
 * rising, and naming a phase of the plan (`known`, when the plan was read). Anything else is
 * ERR_STORE_CORRUPT naming the key.
 */
export function decodeChanges(kvs: IKeyValue[], known: ReadonlySet<string> | undefined): PlanChange[] {
  const changes: PlanChange[] = new Array(kvs.length);
  let lastSeq = 0;
  for (let i = 0; i < kvs.length; i++) {
    const kv = kvs[i]!;
    // The key's text is made only for an error message: most reads have none.
    const where = () => `etcd key ${kv.key.toString('utf8')}`;
    const change = parseChange(kv.value.toString('utf8'), where);
    if (change.seq <= lastSeq) throw corruptFile(where(), `has seq ${change.seq}, not above the previous seq ${lastSeq}`);
    if (kv.key.length < 12 || kv.key.toString('latin1', kv.key.length - 12) !== seqName(change.seq)) {
      throw corruptFile(where(), `holds the change of seq ${change.seq}, which belongs under another key`);
    }
    if (known && !known.has(change.phase)) {
      throw corruptFile(where(), `names phase ${JSON.stringify(change.phase.slice(0, 200))}, which is not in the operation's plan`);
    }
    changes[i] = change;
    lastSeq = change.seq;
  }
  return changes;
}

/** A change from its stored text (parseRecord's checks, with the key named only on failure). */
function parseChange(text: string, where: () => string): PlanChange {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw corruptFile(where(), 'is not valid JSON', err);
  }
  const res = planChangeSchema.safeParse(value);
  if (res.success) return res.data;
  const err = corruptFile(where(), 'does not hold a valid record');
  err.details.push(...issueLines(res.error));
  throw err;
}
