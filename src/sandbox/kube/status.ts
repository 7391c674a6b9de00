/** Kubernetes `Status` answers: kubectl reads `reason` and `code` (NotFound ends drain's wait, TooManyRequests retries an eviction). */
import type { ServerResponse } from 'node:http';
import { apiVersionOf, type Json, type ResourceDef } from './resources.js';

/** A failure the handlers throw; the server turns it into a Status answer. */
export class ApiFailure extends Error {
  constructor(
    readonly code: number,
    readonly reason: string,
    message: string,
    readonly details: Json = {},
  ) {
    super(message);
  }
}

/** `pods` or `jobs.batch`, as the API server names a resource in messages. */
function qualifiedName(res: ResourceDef): string {
  return res.group ? `${res.plural}.${res.group}` : res.plural;
}

/** 404 for a named object. */
export function notFound(res: ResourceDef, name: string): ApiFailure {
  return new ApiFailure(404, 'NotFound', `${qualifiedName(res)} "${name}" not found`, { name, group: res.group, kind: res.plural });
}

/** 409 for a create of an existing object. */
export function alreadyExists(res: ResourceDef, name: string): ApiFailure {
  return new ApiFailure(409, 'AlreadyExists', `${qualifiedName(res)} "${name}" already exists`, {
    name,
    group: res.group,
    kind: res.plural,
  });
}

/** Writes a JSON body with the given code. */
export function sendJson(res: ServerResponse, code: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(code, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text) });
  res.end(text);
}

/** Writes a failure Status. */
export function sendFailure(res: ServerResponse, failure: ApiFailure): void {
  sendJson(res, failure.code, {
    kind: 'Status',
    apiVersion: 'v1',
    metadata: {},
    status: 'Failure',
    message: failure.message,
    reason: failure.reason,
    details: failure.details,
    code: failure.code,
  });
}

/** A success Status (eviction, delete). */
export function successStatus(res: ResourceDef, name: string, uid?: string): Json {
  return {
    kind: 'Status',
    apiVersion: 'v1',
    metadata: {},
    status: 'Success',
    details: { name, group: res.group, kind: res.plural, ...(uid ? { uid } : {}) },
  };
}

/** Used in list answers: `PodList` under the resource's group version. */
export function listOf(res: ResourceDef, items: Json[], resourceVersion: number): Json {
  return { kind: `${res.kind}List`, apiVersion: apiVersionOf(res), metadata: { resourceVersion: String(resourceVersion) }, items };
}
