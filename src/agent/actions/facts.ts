/** `facts`: what the orchestrator needs to know about a node before planning or checking. */
import { promises as fs } from 'node:fs';
import os from 'node:os';
import { z } from 'zod';
import { readPackageIndex, type PackageEntry } from './packages.js';
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
      packages: await readPackageIndex(ctx.stateDir),
    };
  },
});
