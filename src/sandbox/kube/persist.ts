/**
 * Optional persistence of the emulator's objects to a JSON file, so a restarted emulator (a
 * sandbox brought back up) keeps cordons, taints, jobs and budgets. Writes are coalesced to one
 * per tick and land atomically (temp file + rename).
 */
import { promises as fs, readFileSync } from 'node:fs';
import type { KubeObject } from './resources.js';
import type { ObjectStore } from './store.js';

interface StateFile {
  resourceVersion: number;
  objects: KubeObject[];
}

/** Reads a state file; undefined when it does not exist. Throws on a corrupt file. */
export function readStateFile(file: string): StateFile | undefined {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  const parsed = JSON.parse(text) as StateFile;
  if (!Array.isArray(parsed.objects)) throw new Error(`${file} holds no "objects" array`);
  return parsed;
}

/** Writes the store to `file` after every change; `flush()` waits for the last write. */
export class StatePersister {
  private pending = false;
  private writing: Promise<void> = Promise.resolve();
  private readonly unsubscribe: () => void;

  constructor(
    private readonly store: ObjectStore,
    private readonly file: string,
    private readonly onError: (err: unknown) => void,
  ) {
    this.unsubscribe = store.subscribe(() => this.schedule());
  }

  /** Stops listening and waits for the last write. */
  async close(): Promise<void> {
    this.unsubscribe();
    await this.flush();
  }

  /** Writes now (after any write in flight). */
  async flush(): Promise<void> {
    this.pending = false;
    const snapshot = JSON.stringify(this.store.snapshot());
    this.writing = this.writing
      .then(async () => {
        const tmp = `${this.file}.${process.pid}.tmp`;
        await fs.writeFile(tmp, snapshot);
        await fs.rename(tmp, this.file);
      })
      .catch(this.onError);
    await this.writing;
  }

  private schedule(): void {
    if (this.pending) return;
    this.pending = true;
    setImmediate(() => {
      if (this.pending) void this.flush();
    });
  }
}
