/** `facts`: what the orchestrator needs to know about a node before planning or checking. */
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { z } from 'zod';
import type { PackageEntry } from '../../image/schema.js';
import { type OsStatus, readOsStatus } from './os-status.js';
import { readNodeIndex } from './package-store.js';
import { defineAction } from './types.js';

/** Result of `facts`. */
export interface FactsResult {
  hostname: string;
  /** Node time, ms since the epoch. */
  time: number;
  agentVersion: string;
  nodeVersion: string;
  platform: string;
  arch: string;
  /** Bytes available to the agent's user on the filesystem of the state dir. */
  stateDirFreeBytes: number;
  packages: PackageEntry[];
  /** What is installed on the node, as the installer and the upgrade phases recorded it. */
  installed: InstalledFacts;
  /** The node's OS boot report (release, boot id, slots), null when it has none. */
  os: OsStatus | null;
}

/** The node's installed software (absent files read as null). */
export interface InstalledFacts {
  /** `<stateDir>/installed/app.yaml`: the manifest of the installed cluster image. */
  manifest: string | null;
  /** `<stateDir>/runtime/current`: the active runtime version. */
  runtime: string | null;
  /** `<stateDir>/etcd/state.json` `.version`: the etcd version the node runs. */
  etcdVersion: string | null;
}

async function readOptional(file: string): Promise<string | null> {
  try {
    return await fs.readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
}

async function installedFacts(stateDir: string): Promise<InstalledFacts> {
  const [manifest, runtime, etcd] = await Promise.all([
    readOptional(path.join(stateDir, 'installed', 'app.yaml')),
    readOptional(path.join(stateDir, 'runtime', 'current')),
    readOptional(path.join(stateDir, 'etcd', 'state.json')),
  ]);
  let etcdVersion: string | null = null;
  if (etcd) {
    try {
      etcdVersion = (JSON.parse(etcd) as { version?: string }).version ?? null;
    } catch {
      etcdVersion = null;
    }
  }
  return { manifest, runtime: runtime?.trim() || null, etcdVersion };
}

/** Collects hostname, time, agent version, state dir free space and installed packages. */
export const factsAction = defineAction({
  name: 'facts',
  description: 'collect node facts',
  params: z.object({}),
  async run(ctx): Promise<FactsResult> {
    const stats = await fs.statfs(ctx.stateDir);
    return {
      hostname: os.hostname(),
      time: Date.now(),
      agentVersion: ctx.version,
      nodeVersion: process.version,
      platform: process.platform,
      arch: process.arch,
      stateDirFreeBytes: stats.bavail * stats.bsize,
      packages: (await readNodeIndex(ctx.stateDir)).packages,
      installed: await installedFacts(ctx.stateDir),
      os: await readOsStatus(ctx.stateDir),
    };
  },
});
