/**
 * Watch streams: chunked `{"type","object"}` lines. Headers go out at once, because kubectl's
 * `wait` hangs past its own timeout when a watch sends no headers until its first event. A watch
 * that starts at a resourceVersion is first replayed the logged events after it, which covers the
 * gap between the informer's list and its watch.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { KubeObject, ResourcePath } from './resources.js';
import { matchesFieldSelector, matchesLabelSelector } from './select.js';
import type { ObjectStore, StoreEvent } from './store.js';
import { toTable, wantsTable } from './table.js';

/** Open watch responses, so that closing the emulator can end them. */
export type WatchSet = Set<ServerResponse>;

/** Serves one watch request until the client leaves, `timeoutSeconds` passes or the server closes. */
export function serveWatch(
  req: IncomingMessage,
  res: ServerResponse,
  store: ObjectStore,
  target: ResourcePath,
  query: URLSearchParams,
  open: WatchSet,
): void {
  const fieldSelector = query.get('fieldSelector');
  const labelSelector = query.get('labelSelector');
  const matches = (ev: Pick<StoreEvent, 'res' | 'object'>): boolean =>
    ev.res === target.res &&
    (target.namespace === undefined || ev.object.metadata.namespace === target.namespace) &&
    (target.name === undefined || ev.object.metadata.name === target.name) &&
    matchesFieldSelector(ev.object, fieldSelector) &&
    matchesLabelSelector(ev.object.metadata.labels, labelSelector);

  res.writeHead(200, { 'Content-Type': 'application/json', 'Cache-Control': 'no-cache' });
  res.flushHeaders();
  open.add(res);
  // `kubectl get -w` asks for Table rows; each event then carries a one-row Table.
  const table = wantsTable(req.headers.accept);
  const send = (type: StoreEvent['type'], object: KubeObject): void => {
    const body = (table && toTable(target.res, [object], store.resourceVersion)) || object;
    res.write(`${JSON.stringify({ type, object: body })}\n`);
  };

  const since = query.get('resourceVersion');
  if (!since || since === '0') {
    for (const object of store.list(target.res, target.namespace)) if (matches({ res: target.res, object })) send('ADDED', object);
  } else {
    for (const ev of store.eventsSince(Number(since))) if (matches(ev)) send(ev.type, ev.object);
  }

  const unsubscribe = store.subscribe((ev) => {
    if (matches(ev)) send(ev.type, ev.object);
  });
  const timeoutSeconds = Number(query.get('timeoutSeconds') ?? 0);
  const timer = timeoutSeconds > 0 ? setTimeout(() => res.end(), timeoutSeconds * 1000) : undefined;
  const stop = (): void => {
    unsubscribe();
    if (timer) clearTimeout(timer);
    open.delete(res);
  };
  req.on('close', stop);
  res.on('close', stop);
}
