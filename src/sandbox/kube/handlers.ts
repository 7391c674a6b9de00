/**
 * Resource verbs: list, watch, get, create, replace, patch, delete, plus the pod subresources
 * `eviction` and `log`. Handlers throw ApiFailure; the server writes it as a Status.
 */

import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { defaultJob, podFinished, podLog } from './jobs.js';
import { applyPatch, patchKind } from './patch.js';
import type { BudgetController } from './pdb.js';
import type { Json, KubeObject, ResourcePath } from './resources.js';
import { matchesFieldSelector, matchesLabelSelector } from './select.js';
import { ApiFailure, alreadyExists, listOf, notFound, sendJson, successStatus } from './status.js';
import { type ObjectStore, resourceOfKind } from './store.js';
import { toTable, wantsTable } from './table.js';
import { serveWatch, type WatchSet } from './watch.js';

const PODS = resourceOfKind('Pod');

/** What the handlers work on. */
export interface HandlerContext {
  store: ObjectStore;
  budgets: BudgetController;
  watches: WatchSet;
}

/** One parsed request. */
export interface ResourceRequest {
  req: IncomingMessage;
  res: ServerResponse;
  target: ResourcePath;
  query: URLSearchParams;
  body: Buffer;
}

function parseBody(body: Buffer): Json {
  try {
    const value: unknown = JSON.parse(body.toString('utf8') || 'null');
    if (typeof value === 'object' && value !== null && !Array.isArray(value)) return value as Json;
  } catch {
    // fall through to the failure below
  }
  throw new ApiFailure(400, 'BadRequest', 'the request body is not a JSON object');
}

function existing(ctx: HandlerContext, target: ResourcePath): KubeObject {
  const object = ctx.store.get(target.res, target.namespace, target.name!);
  if (!object) throw notFound(target.res, target.name!);
  return object;
}

/** Dispatches a resource request by method and subresource. */
export async function handleResource(ctx: HandlerContext, r: ResourceRequest): Promise<void> {
  const { target, req } = r;
  const method = req.method ?? 'GET';
  if (target.subresource === 'eviction' && target.res === PODS && method === 'POST') return evict(ctx, r);
  if (target.subresource === 'log' && target.res === PODS && method === 'GET') return podLogs(ctx, r);
  if (target.subresource) throw new ApiFailure(404, 'NotFound', `the server could not find the requested resource (${target.subresource})`);
  if (!target.name) {
    if (method === 'GET') return list(ctx, r);
    if (method === 'POST') return create(ctx, r);
  } else {
    if (method === 'GET') return get(ctx, r);
    if (method === 'PUT') return replace(ctx, r);
    if (method === 'PATCH') return patch(ctx, r);
    if (method === 'DELETE') return remove(ctx, r);
  }
  throw new ApiFailure(405, 'MethodNotAllowed', `${method} is not supported on ${req.url}`);
}

function list(ctx: HandlerContext, r: ResourceRequest): void {
  const watch = r.query.get('watch');
  if (watch === 'true' || watch === '1') return serveWatch(r.req, r.res, ctx.store, r.target, r.query, ctx.watches);
  const items = ctx.store
    .list(r.target.res, r.target.namespace)
    .filter(
      (o) => matchesFieldSelector(o, r.query.get('fieldSelector')) && matchesLabelSelector(o.metadata.labels, r.query.get('labelSelector')),
    );
  const table = wantsTable(r.req.headers.accept) ? toTable(r.target.res, items, ctx.store.resourceVersion) : undefined;
  sendJson(r.res, 200, table ?? listOf(r.target.res, items, ctx.store.resourceVersion));
}

function get(ctx: HandlerContext, r: ResourceRequest): void {
  const object = existing(ctx, r.target);
  const table = wantsTable(r.req.headers.accept) ? toTable(r.target.res, [object], ctx.store.resourceVersion) : undefined;
  sendJson(r.res, 200, table ?? object);
}

function create(ctx: HandlerContext, r: ResourceRequest): void {
  const { res, namespace } = r.target;
  let object = parseBody(r.body) as KubeObject;
  const metadata = { ...(object.metadata ?? {}) } as KubeObject['metadata'];
  if (!metadata.name && metadata.generateName) metadata.name = `${metadata.generateName}${randomBytes(3).toString('hex').slice(0, 5)}`;
  if (!metadata.name)
    throw new ApiFailure(422, 'Invalid', `${res.kind} is invalid: metadata.name: Required value: name or generateName is required`);
  if (res.namespaced) {
    if (namespace && metadata.namespace && metadata.namespace !== namespace) {
      throw new ApiFailure(400, 'BadRequest', 'the namespace of the provided object does not match the namespace sent on the request');
    }
    metadata.namespace = namespace ?? metadata.namespace ?? 'default';
  }
  if (ctx.store.get(res, metadata.namespace, metadata.name)) throw alreadyExists(res, metadata.name);
  object = { ...object, metadata: { ...metadata, generation: 1 } };
  if (res.kind === 'Job') object = defaultJob(object);
  if (res === PODS && !object.status) object.status = { phase: 'Running' };
  if (r.query.get('dryRun')) return sendJson(r.res, 201, object);
  sendJson(r.res, 201, ctx.store.put(res, object));
}

function replace(ctx: HandlerContext, r: ResourceRequest): void {
  const current = existing(ctx, r.target);
  const object = parseBody(r.body) as KubeObject;
  const rv = object.metadata?.resourceVersion;
  if (rv && rv !== current.metadata.resourceVersion) {
    throw new ApiFailure(
      409,
      'Conflict',
      `Operation cannot be fulfilled on ${r.target.res.plural} "${r.target.name}": the object has been modified; please apply your changes to the latest version and try again`,
    );
  }
  const metadata = {
    ...object.metadata,
    name: current.metadata.name,
    namespace: current.metadata.namespace,
    generation: (Number(current.metadata.generation) || 1) + 1,
  };
  const stored = ctx.store.put(r.target.res, {
    ...object,
    metadata,
    ...(object.status === undefined && current.status ? { status: current.status } : {}),
  });
  sendJson(r.res, 200, stored);
}

function patch(ctx: HandlerContext, r: ResourceRequest): void {
  const kind = patchKind(r.req.headers['content-type']);
  if (!kind)
    throw new ApiFailure(415, 'UnsupportedMediaType', `the emulator does not support patches of type ${r.req.headers['content-type']}`);
  const current = existing(ctx, r.target);
  const patched = applyPatch(current, parseBody(r.body), kind) as KubeObject;
  const specChanged = JSON.stringify(patched.spec) !== JSON.stringify(current.spec);
  const metadata = {
    ...patched.metadata,
    name: current.metadata.name,
    namespace: current.metadata.namespace,
    uid: current.metadata.uid,
    generation: (Number(current.metadata.generation) || 1) + (specChanged ? 1 : 0),
  };
  sendJson(r.res, 200, ctx.store.put(r.target.res, { ...patched, metadata }));
}

function remove(ctx: HandlerContext, r: ResourceRequest): void {
  // DELETE bodies may be protobuf (kubectl's typed client), so the body is never parsed.
  const gone = ctx.store.delete(r.target.res, r.target.namespace, r.target.name!);
  if (!gone) throw notFound(r.target.res, r.target.name!);
  sendJson(r.res, 200, successStatus(r.target.res, gone.metadata.name, gone.metadata.uid));
}

function evict(ctx: HandlerContext, r: ResourceRequest): void {
  const pod = existing(ctx, r.target);
  const result = ctx.budgets.evict(pod);
  if (!result.ok) {
    const { budget } = result;
    throw new ApiFailure(429, 'TooManyRequests', "Cannot evict pod as it would violate the pod's disruption budget.", {
      causes: [
        {
          reason: 'DisruptionBudget',
          message: `The disruption budget ${budget.metadata.name} needs ${budget.status?.desiredHealthy ?? 0} healthy pods and has ${budget.status?.currentHealthy ?? 0} currently`,
        },
      ],
    });
  }
  sendJson(r.res, 201, successStatus(PODS, pod.metadata.name, pod.metadata.uid));
}

function podLogs(ctx: HandlerContext, r: ResourceRequest): void {
  const pod = existing(ctx, r.target);
  let text = podLog(pod);
  const tail = Number(r.query.get('tailLines') ?? NaN);
  if (Number.isInteger(tail) && tail >= 0)
    text = text
      .split('\n')
      .filter(Boolean)
      .slice(-tail)
      .map((l) => `${l}\n`)
      .join('');
  r.res.writeHead(200, { 'Content-Type': 'text/plain' });
  r.res.flushHeaders();
  r.res.write(text);
  const follow = r.query.get('follow');
  if ((follow !== 'true' && follow !== '1') || podFinished(pod)) {
    r.res.end();
    return;
  }
  // Following: hold the stream open until the pod stops or goes away, as a container's log does.
  const done = (): void => {
    unsubscribe();
    ctx.watches.delete(r.res);
    if (!r.res.writableEnded) r.res.end();
  };
  const unsubscribe = ctx.store.subscribe((ev) => {
    if (ev.res !== PODS || ev.object.metadata.uid !== pod.metadata.uid) return;
    if (ev.type === 'DELETED' || podFinished(ev.object)) done();
  });
  ctx.watches.add(r.res);
  r.req.on('close', done);
}
