/**
 * `check.disk-write`: sequential write throughput of a directory, measured like Gravity's
 * `dd ... bs=100K count=1024 conv=fdatasync` (three 100 MiB samples, best one counts) but with
 * Node's fs so that it works on nodes without coreutils. The threshold (10 MB/s for the state
 * dir) is the orchestrator's decision; the agent only measures.
 */
import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { actionError } from '../errors.js';
import { defineAction } from './types.js';

const MiB = 1024 * 1024;

/** One timed write of the whole file, fdatasync included. */
export interface DiskWriteSample {
  seconds: number;
  /** Decimal megabytes per second, as dd prints them. */
  MBps: number;
}

/** Result of `check.disk-write`. */
export interface DiskWriteResult {
  file: string;
  bytes: number;
  bestMBps: number;
  samples: DiskWriteSample[];
}

/** Writes `<dir>/hoist-testfile` `samples` times, fdatasync after each, and reports the best rate. */
export const checkDiskWriteAction = defineAction({
  name: 'check.disk-write',
  description: 'measure disk write throughput',
  params: z.object({
    dir: z.string().min(1).optional(),
    sizeMiB: z
      .number()
      .positive()
      .max(10 * 1024)
      .default(100),
    samples: z.number().int().min(1).max(10).default(3),
  }),
  async run(ctx, params): Promise<DiskWriteResult> {
    const file = path.join(params.dir ?? ctx.stateDir, 'hoist-testfile');
    const bytes = Math.max(1, Math.round(params.sizeMiB * MiB));
    // Random content so that a compressing filesystem cannot flatter the number.
    const block = randomBytes(Math.min(MiB, bytes));
    const samples: DiskWriteSample[] = [];
    try {
      for (let i = 0; i < params.samples; i++) {
        ctx.signal.throwIfAborted();
        const seconds = await timedWrite(file, block, bytes);
        samples.push({ seconds, MBps: bytes / 1e6 / seconds });
        ctx.log('debug', `wrote ${bytes} bytes to ${file} in ${seconds.toFixed(3)} s`);
      }
    } catch (err) {
      if (ctx.signal.aborted)
        throw actionError(
          'ERR_AGENT_STOPPING',
          `disk write check of ${file} stopped because the agent shut down`,
          'start the agent again and re-run the check',
        );
      throw actionError(
        'ERR_CHECK_DISK_WRITE',
        `cannot write ${file}: ${(err as Error).message}`,
        `check that ${path.dirname(file)} is writable and has ${params.sizeMiB} MiB free`,
      );
    } finally {
      await fs.rm(file, { force: true });
    }
    return { file, bytes, bestMBps: Math.max(...samples.map((s) => s.MBps)), samples };
  },
});

async function timedWrite(file: string, block: Buffer, bytes: number): Promise<number> {
  const start = process.hrtime.bigint();
  const fh = await fs.open(file, 'w', 0o600);
  try {
    for (let left = bytes; left > 0; ) {
      const { bytesWritten } = await fh.write(block, 0, Math.min(left, block.length));
      left -= bytesWritten;
    }
    await fh.datasync();
  } finally {
    await fh.close();
  }
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  return Math.max(seconds, 1e-9);
}
