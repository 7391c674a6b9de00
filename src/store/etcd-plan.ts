/**
 * A plan as the etcd store keeps it: gzipped JSON cut into chunks that each fit an etcd request,
 * with a meta record naming their count and size, so that a torn or partial plan is detected on
 * read instead of parsed.
 */
import { gunzipSync, gzipSync } from 'node:zlib';
import type { z } from 'zod';
import { corruptFile, issueLines } from '../durable-files.js';
import type { Plan } from '../plan/types.js';
import { checkStoredPlanData, checkStoredPlanTree } from './plan-data.js';
import { planSchema } from './schema.js';

/** A plan ready to write: its chunks and the meta record that names them. */
export interface EncodedPlan {
  chunks: Buffer[];
  meta: string;
  /** Size of the gzipped plan. */
  bytes: number;
}

/** Key name of chunk `i` under the plan's prefix; names sort in chunk order. */
export function chunkName(i: number): string {
  return String(i).padStart(4, '0');
}

/** True for the key of a chunk (not the meta record). */
export function isChunkKey(key: string): boolean {
  return /\/\d{4}$/.test(key);
}

export function encodePlan(plan: Plan, chunkBytes: number): EncodedPlan {
  const zipped = gzipSync(JSON.stringify(plan));
  const chunks: Buffer[] = [];
  for (let at = 0; at < zipped.length; at += chunkBytes) chunks.push(zipped.subarray(at, at + chunkBytes));
  return { chunks, meta: JSON.stringify({ encoding: 'gzip', chunks: chunks.length, bytes: zipped.length }), bytes: zipped.length };
}

/** The plan from its meta record and chunks (in key order), checked as every stored plan is. */
export function decodePlan(metaText: string, chunks: Buffer[], metaWhere: string, planWhere: string): Plan {
  const meta = parseJson(metaText, metaWhere) as { chunks?: unknown; bytes?: unknown };
  const zipped = Buffer.concat(chunks);
  if (chunks.length !== meta.chunks || zipped.length !== meta.bytes) {
    throw corruptFile(
      metaWhere,
      `names ${String(meta.chunks)} chunks of ${String(meta.bytes)} bytes, etcd holds ${chunks.length} of ${zipped.length}`,
    );
  }
  let text: string;
  try {
    text = gunzipSync(zipped).toString('utf8');
  } catch (err) {
    throw corruptFile(metaWhere, 'names plan chunks that do not unzip', err);
  }
  const plan = parseRecord(text, planSchema, planWhere);
  checkStoredPlanData(plan, planWhere);
  checkStoredPlanTree(plan, planWhere);
  return plan;
}

function parseJson(text: string, where: string): unknown {
  try {
    return JSON.parse(text);
  } catch (err) {
    throw corruptFile(where, 'is not valid JSON', err);
  }
}

/** A stored JSON record checked against its schema; anything else is a corrupt store entry. */
export function parseRecord<T>(text: string, schema: z.ZodType<T>, where: string): T {
  const res = schema.safeParse(parseJson(text, where));
  if (res.success) return res.data;
  const err = corruptFile(where, 'does not hold a valid record');
  err.details.push(...issueLines(res.error));
  throw err;
}
