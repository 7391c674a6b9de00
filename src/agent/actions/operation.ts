/**
 * Node-side bookkeeping of an operation: `/init/<node>` records the operation on the node and
 * clears what earlier operations left behind; its rollback forgets it; `/gc/<node>` removes the
 * operation's scratch files once the upgrade is through.
 *
 *   <stateDir>/operations/<id>/operation.json   what the node knows of the operation
 *   <stateDir>/operations/<id>/scratch/         temporary files of the operation's phases
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { isErrno, recordJson, writeFileAtomic } from '../../durable-files.js';
import { defineAction } from './types.js';

const idSchema = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, 'expected an operation id');

const operationInfo = z.object({
  id: idSchema,
  cluster: z.string().min(1),
  from: z.string().min(1),
  to: z.string().min(1),
  node: z.string().min(1),
  leader: z.boolean().default(false),
});

function opsDir(stateDir: string): string {
  return path.join(stateDir, 'operations');
}

async function listOps(stateDir: string): Promise<string[]> {
  try {
    return (await fs.readdir(opsDir(stateDir))).filter((n) => !n.startsWith('.'));
  } catch (err) {
    if (isErrno(err, 'ENOENT')) return [];
    throw err;
  }
}

/** Result of `operation.init`. */
export interface OperationInitResult {
  dir: string;
  /** Directories of earlier operations that were removed. */
  removed: string[];
}

/** Records the operation on the node and removes the directories of earlier operations. */
export const operationInitAction = defineAction({
  name: 'operation.init',
  description: 'record an operation on the node and clear leftovers of earlier ones',
  params: z.object({ operation: operationInfo }),
  async run(ctx, { operation }): Promise<OperationInitResult> {
    const removed: string[] = [];
    for (const name of await listOps(ctx.stateDir)) {
      if (name === operation.id) continue;
      const dir = path.join(opsDir(ctx.stateDir), name);
      await fs.rm(dir, { recursive: true, force: true });
      removed.push(dir);
      ctx.log('info', `removed leftovers of earlier operation ${name}`);
    }
    const dir = path.join(opsDir(ctx.stateDir), operation.id);
    await fs.mkdir(path.join(dir, 'scratch'), { recursive: true, mode: 0o700 });
    await writeFileAtomic(path.join(dir, 'operation.json'), recordJson({ ...operation, initialized: new Date().toISOString() }));
    return { dir, removed };
  },
});

/** Forgets the operation on the node (rollback of init). */
export const operationRemoveAction = defineAction({
  name: 'operation.remove',
  description: 'forget an operation on the node',
  params: z.object({ operationId: idSchema }),
  async run(ctx, { operationId }): Promise<{ removed: boolean }> {
    const dir = path.join(opsDir(ctx.stateDir), operationId);
    const existed = await fs.stat(dir).then(
      () => true,
      () => false,
    );
    await fs.rm(dir, { recursive: true, force: true });
    return { removed: existed };
  },
});

/** Result of `operation.gc`. */
export interface OperationGcResult {
  removed: string[];
}

/** Removes the operation's scratch files and test files left by interrupted checks. */
export const operationGcAction = defineAction({
  name: 'operation.gc',
  description: "remove an operation's leftovers on the node",
  params: z.object({ operationId: idSchema }),
  async run(ctx, { operationId }): Promise<OperationGcResult> {
    const removed: string[] = [];
    const candidates = [path.join(opsDir(ctx.stateDir), operationId, 'scratch'), path.join(ctx.stateDir, 'hoist-testfile')];
    for (const target of candidates) {
      const exists = await fs.stat(target).then(
        () => true,
        () => false,
      );
      if (!exists) continue;
      await fs.rm(target, { recursive: true, force: true });
      removed.push(target);
    }
    const record = path.join(opsDir(ctx.stateDir), operationId, 'operation.json');
    try {
      const info = JSON.parse(await fs.readFile(record, 'utf8')) as Record<string, unknown>;
      await writeFileAtomic(record, recordJson({ ...info, collected: new Date().toISOString() }));
    } catch (err) {
      if (!isErrno(err, 'ENOENT')) throw err;
    }
    for (const r of removed) ctx.log('info', `removed ${r}`);
    return { removed };
  },
});
