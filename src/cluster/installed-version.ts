/**
 * The installed image version as the lead master records it (`installed/app.yaml` in its state
 * dir), read over SSH before any agent is deployed: `hoist upgrade` says "Upgrading cluster from
 * X to Y" first, as Gravity did, and X must be what the plan will start from, which the agents
 * read from the same file moments later.
 */
import path from 'node:path';
import { manifestFromText } from '../config/load.js';
import { shellQuote, type Transport } from '../ssh/transport.js';
import type { NodeSettings } from './inventory.js';

/** The version the lead master records; undefined when it has none or cannot be read. */
export async function readInstalledVersion(t: Transport, leader: NodeSettings, signal?: AbortSignal): Promise<string | undefined> {
  const file = path.posix.join(leader.nodeStateDir, 'installed', 'app.yaml');
  try {
    const r = await t.exec(`cat ${shellQuote(file)}`, { sudo: true, timeoutMs: 15_000, ...(signal ? { signal } : {}) });
    if (r.exitCode !== 0) return undefined;
    return manifestFromText(r.stdout, `${leader.name}:${file}`).metadata.version;
  } catch {
    // Only the announcement waits for this; the agents read the record again and explain any problem.
    return undefined;
  }
}
