/**
 * A sandbox node whose login environment has no Node.js (`sandbox up --without-node NODE`), to
 * exercise the agent deploy that uploads the orchestrator's own runtime. This machine's Node.js
 * lives in /usr/bin beside everything else, so the node gets a directory of links to every
 * program of the standard PATH except Node.js, and its sshd sets PATH to it (SetEnv).
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';

const STANDARD_PATH = ['/usr/local/sbin', '/usr/local/bin', '/usr/sbin', '/usr/bin', '/sbin', '/bin'];
const NODE_PROGRAMS = new Set(['node', 'nodejs', 'npm', 'npx', 'corepack']);

/**
 * Fills `bin` with links to the standard programs but Node.js; returns it as the PATH to set.
 * It must be reachable by the login user (a non-root user cannot enter a root-only sandbox dir).
 */
export async function pathWithoutNode(bin: string): Promise<string> {
  await fs.mkdir(bin, { recursive: true, mode: 0o755 });
  const linked = new Set<string>();
  for (const dir of STANDARD_PATH) {
    const entries = await fs.readdir(dir).catch(() => [] as string[]);
    for (const name of entries) {
      if (NODE_PROGRAMS.has(name) || linked.has(name)) continue;
      linked.add(name);
      await fs.symlink(path.join(dir, name), path.join(bin, name));
    }
  }
  return bin;
}
