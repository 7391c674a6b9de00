/**
 * The state directory checked before a command uses it: a path that is a file, a directory that
 * cannot be written, or a parent that cannot hold it would otherwise fail halfway through a
 * command (after a lease, or with an operation half recorded) with a bare system error.
 */
import { accessSync, constants, statSync } from 'node:fs';
import path from 'node:path';
import { isErrno } from '../durable-files.js';
import { StateError } from '../errors.js';

function refuse(dir: string, problem: string, hint: string): StateError {
  return new StateError('ERR_STORE_STATE_DIR', `state directory ${dir} ${problem}`, { hint });
}

const HINT = 'pass --state-dir (or HOIST_STATE_DIR) naming a directory this user can write, or fix its permissions';

/** Throws ERR_STORE_STATE_DIR unless `dir` is a writable directory, or can be created as one. */
export function checkStateDir(dir: string): void {
  let at = dir;
  for (;;) {
    let isDir: boolean;
    try {
      isDir = statSync(at).isDirectory();
    } catch (err) {
      if (isErrno(err, 'ENOENT') && path.dirname(at) !== at) {
        at = path.dirname(at);
        continue;
      }
      if (isErrno(err, 'ENOTDIR')) throw refuse(dir, 'lies under a path that is not a directory', HINT);
      throw refuse(dir, `cannot be examined (${(err as NodeJS.ErrnoException).code ?? 'error'})`, HINT);
    }
    if (!isDir) {
      throw at === dir
        ? refuse(dir, 'is not a directory', 'move the file away, or pass --state-dir (or HOIST_STATE_DIR) naming a directory')
        : refuse(dir, `cannot be created: ${at} is not a directory`, HINT);
    }
    try {
      accessSync(at, constants.W_OK | constants.X_OK);
    } catch {
      throw at === dir
        ? refuse(dir, 'is not writable by this user', HINT)
        : refuse(dir, `cannot be created: ${at} is not writable by this user`, HINT);
    }
    return;
  }
}
