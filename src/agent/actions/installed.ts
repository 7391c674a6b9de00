/**
 * The node's record of the installed cluster image (`<stateDir>/installed/app.yaml`), which hoist
 * reads back to learn what a cluster runs. Committing a new one keeps the previous for rollback.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { isErrno, writeFileAtomic } from '../../durable-files.js';
import { actionError } from '../errors.js';
import { defineAction } from './types.js';

function files(stateDir: string) {
  const dir = path.join(stateDir, 'installed');
  return { dir, current: path.join(dir, 'app.yaml'), previous: path.join(dir, 'app.previous.yaml') };
}

async function read(file: string): Promise<string | undefined> {
  try {
    return await fs.readFile(file, 'utf8');
  } catch (err) {
    if (isErrno(err, 'ENOENT')) return undefined;
    throw err;
  }
}

/** Records `manifest` as installed; the one it replaces is kept as the previous. Idempotent. */
export const installedCommitAction = defineAction({
  name: 'installed.commit',
  description: 'record the installed cluster image',
  params: z.object({
    manifest: z
      .string()
      .min(1)
      .max(256 * 1024),
  }),
  async run(ctx, { manifest }): Promise<{ changed: boolean }> {
    const f = files(ctx.stateDir);
    const current = await read(f.current);
    if (current === manifest) return { changed: false };
    await fs.mkdir(f.dir, { recursive: true });
    if (current !== undefined) await writeFileAtomic(f.previous, current);
    await writeFileAtomic(f.current, manifest);
    return { changed: true };
  },
});

/** Puts the previous record back, when the current one is `manifest` (rollback of a commit). */
export const installedRevertAction = defineAction({
  name: 'installed.revert',
  description: 'restore the previously installed cluster image record',
  params: z.object({
    manifest: z
      .string()
      .min(1)
      .max(256 * 1024),
  }),
  async run(ctx, { manifest }): Promise<{ changed: boolean }> {
    const f = files(ctx.stateDir);
    if ((await read(f.current)) !== manifest) return { changed: false };
    const previous = await read(f.previous);
    if (previous === undefined)
      throw actionError(
        'ERR_INSTALLED_NO_PREVIOUS',
        `no previous installed image record in ${f.previous}`,
        'restore the record by hand from the image that was installed before',
      );
    await writeFileAtomic(f.current, previous);
    return { changed: true };
  },
});
