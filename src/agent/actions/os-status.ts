/**
 * The node's OS boot report, `<stateDir>/os/status.json`: which A/B slot booted, its OS release,
 * the boot id, the boot selection and the verdict of the boot assessment. The node writes it (on
 * a real host the OS updater's boot unit behind the image's `os-upgrade` hook; in the sandbox its
 * boot), every boot and whenever the selection changes; the agent only reads it.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { actionError } from '../errors.js';

const name = z.string().min(1).max(256);

/** The assessment of one boot of a trial slot. */
export const AssessmentSchema = z.object({
  bootId: name,
  slot: name,
  state: z.enum(['pending', 'passed', 'failed']),
  /** The check that failed, or "timeout". */
  check: name.optional(),
  /** The tail of the failed check's output. */
  output: z.string().max(16384).optional(),
  at: z.string(),
});

/** What a node reports about its OS. */
export const OsStatusSchema = z.object({
  release: name,
  bootId: name,
  activeSlot: name,
  /** Slot booted when nothing else is asked for. */
  defaultSlot: name,
  /** Slot the next boot tries once, if any. */
  nextSlot: name.nullable().default(null),
  slots: z.record(name, z.object({ release: name.nullable() })),
  assessment: AssessmentSchema.nullable().default(null),
});

/** A node's OS boot report. */
export type OsStatus = z.output<typeof OsStatusSchema>;

/** The status file under a node state dir. */
export function osStatusFile(stateDir: string): string {
  return path.join(stateDir, 'os', 'status.json');
}

/** The node's report, or null when the node has none (no OS image managed by hoist). */
export async function readOsStatus(stateDir: string): Promise<OsStatus | null> {
  const file = osStatusFile(stateDir);
  let text: string;
  try {
    text = await fs.readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    raw = undefined;
  }
  const parsed = OsStatusSchema.safeParse(raw);
  if (!parsed.success) {
    throw actionError(
      'ERR_OS_STATUS_INVALID',
      `${file} is not a valid OS boot report`,
      'the OS updater of the node writes it; check it on the node',
    );
  }
  return parsed.data;
}
