/** `check.tmp`: the temp directory is writable (Gravity's touch + rm of `/tmp/tmpcheck.<uuid>`). */
import { randomUUID } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { actionError } from '../errors.js';
import { defineAction } from './types.js';

/** Result of `check.tmp`. */
export interface CheckTmpResult {
  /** The file that was created and removed. */
  file: string;
}

/** Creates and removes `<tmpdir>/hoist-tmpcheck.<uuid>`. */
export const checkTmpAction = defineAction({
  name: 'check.tmp',
  description: 'check that the temp directory is writable',
  params: z.object({ tmpdir: z.string().min(1).default('/tmp') }),
  async run(_ctx, params): Promise<CheckTmpResult> {
    const file = path.join(params.tmpdir, `hoist-tmpcheck.${randomUUID()}`);
    try {
      const fh = await fs.open(file, 'wx', 0o600);
      await fh.close();
    } catch (err) {
      throw actionError(
        'ERR_CHECK_TMP',
        `cannot create ${file}: ${(err as Error).message}`,
        `make ${params.tmpdir} writable for the agent's user (and check it is not full or read-only)`,
      );
    }
    try {
      await fs.unlink(file);
    } catch (err) {
      throw actionError('ERR_CHECK_TMP', `cannot remove ${file}: ${(err as Error).message}`, `check the permissions of ${params.tmpdir}`);
    }
    return { file };
  },
});
