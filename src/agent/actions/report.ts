/**
 * `report.collect`: what `hoist report` takes from a node, read-only. The agent log and the
 * runtime's logs (`<stateDir>/runtime/*.log`, the runtime package's log directory), each reduced
 * to its lines since the cutoff by their own timestamps (log-since.ts) under a header saying what
 * was left out; the execution records changed since then; the package store index; the etcd
 * member's state, the runtime health hook's verdict (which on a master includes the etcd member's
 * health) and, on a master, the runtime's `etcd-status` hook (etcdctl endpoint status and health
 * of the members); and, when asked, kubectl's view of the cluster (report-kube.ts). Every text is
 * redacted here, before it leaves the node, and the whole answer is bounded (it travels as one
 * protocol line): each file keeps its newest part, and files past the budget are only named.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { logHeader, logSince } from '../log-since.js';
import { redact } from '../redact.js';
import { execHookAction } from './exec-hook.js';
import { kubeRunAction } from './kube-run.js';
import { nodeProbeAction } from './probe.js';
import { kubeView } from './report-kube.js';
import { type ActionContext, capturing, defineAction } from './types.js';

/** One collected file, by its path in the node's part of the archive. */
export interface ReportFile {
  path: string;
  text: string;
  /** Bytes dropped from the front to stay within the budget. */
  truncated: number;
}

/** Result of `report.collect`. */
export interface ReportResult {
  files: ReportFile[];
  /** Files left out because the node's budget was spent. */
  omitted: string[];
}

/** Bytes a node may send in all (the protocol's line is 1 MiB; JSON escaping needs room). */
export const REPORT_MAX_BYTES = 640 * 1024;

export const reportCollectAction = defineAction({
  name: 'report.collect',
  description: 'collect logs, execution records and state for hoist report (read-only)',
  params: z.object({
    /** Only log lines and execution records from this time on (ISO); everything when absent. */
    since: z.string().max(64).optional(),
    maxBytes: z.number().int().positive().max(REPORT_MAX_BYTES).default(REPORT_MAX_BYTES),
    /** The installed runtime package ("runtime:7.0.35-11706") whose health hook is asked. */
    health: z.string().min(1).max(256).optional(),
    /** Only kubectl's view of the cluster (asked of one master). */
    kube: z.boolean().default(false),
    /** Run the `health` runtime package's `etcd-status` hook (masters). */
    etcdStatus: z.boolean().default(false),
  }),
  async run(ctx, p): Promise<ReportResult> {
    const since = p.since ? Date.parse(p.since) : 0;
    const budget = new Budget(p.maxBytes);
    const dir = ctx.stateDir;
    // kubectl's view is asked of one master apart, after its own files: only that view then.
    if (p.kube) {
      const quiet = { ...ctx, output: () => undefined };
      const kubectl = (args: string[]) => kubeRunAction.run(quiet, kubeRunAction.params.parse({ args, timeoutSeconds: 30 }));
      for (const f of await kubeView(kubectl)) budget.add(`kube/${f.name}`, f.text, Math.floor(p.maxBytes / 4));
      return budget.result();
    }
    // Smallest and most telling first: the budget runs out on the long logs, not on the state.
    budget.add('packages/index.json', await readText(path.join(dir, 'packages', 'index.json')));
    budget.add('etcd/state.json', await readText(path.join(dir, 'etcd', 'state.json')));
    if (p.health) {
      const params = nodeProbeAction.params.parse({ health: p.health, timeoutSeconds: 8 });
      budget.add('runtime-health.json', JSON.stringify((await nodeProbeAction.run(ctx, params)).health ?? null, null, 2));
      if (p.etcdStatus) budget.add('etcd/endpoint-status.txt', await etcdStatus(ctx, p.health));
    }
    // Each log gets a share, so that many execution records cannot crowd out the agent's log.
    const share = Math.floor(p.maxBytes / 6);
    const addLog = async (rel: string, file: string, cap: number): Promise<void> => {
      const text = await readText(file);
      if (text === undefined) return;
      const log = logSince(text, since);
      budget.add(rel, log.text, cap, (truncated) => logHeader(file, since, log, truncated));
    };
    await addLog('agent/agent.log', path.join(dir, 'agent', 'agent.log'), share);
    for (const name of await logFiles(path.join(dir, 'runtime'))) {
      await addLog(`runtime/${name}`, path.join(dir, 'runtime', name), Math.floor(share / 2));
    }
    for (const rel of await executionFiles(dir, since)) budget.add(rel, await readText(path.join(dir, rel)));
    return budget.result();
  },
});

/**
 * The runtime's `etcd-status` hook (etcdctl endpoint status and health of every member), as it
 * printed it; a runtime without the hook, or a hook that failed, is said in the file instead.
 */
async function etcdStatus(ctx: ActionContext, runtime: string): Promise<string> {
  const quiet = capturing(ctx);
  try {
    await execHookAction.run(quiet.ctx, execHookAction.params.parse({ package: runtime, hook: 'etcd-status', timeoutSeconds: 30 }));
    return quiet.text();
  } catch (err) {
    return `${quiet.text()}# the etcd-status hook of ${runtime} gave no status: ${(err as Error).message}\n`;
  }
}

/** Collects files until the byte budget is spent; a file that does not fit keeps its newest part. */
class Budget {
  private readonly files: ReportFile[] = [];
  private readonly omitted: string[] = [];
  private left: number;

  constructor(max: number) {
    this.left = max;
  }

  /** Adds `text` (its newest part within `cap`), with `header` (told the bytes dropped) above it. */
  add(rel: string, text: string | undefined, cap = Number.POSITIVE_INFINITY, header?: (truncated: number) => string): void {
    if (text === undefined) return;
    const clean = redact(text);
    const bytes = Buffer.byteLength(clean);
    if (this.left < 1024) {
      this.omitted.push(rel);
      return;
    }
    // The header is written whatever is cut, so room for it comes off the file's share first.
    const top = header ? Buffer.byteLength(redact(header(bytes))) : 0;
    const keep = Math.min(bytes, Math.max(0, Math.min(this.left, cap) - top));
    const kept =
      keep === bytes
        ? clean
        : Buffer.from(clean)
            .subarray(bytes - keep)
            .toString('utf8');
    const head = header ? redact(header(bytes - keep)) : '';
    this.left -= keep + Buffer.byteLength(head);
    this.files.push({ path: rel, text: head + kept, truncated: bytes - keep });
  }

  result(): ReportResult {
    return { files: this.files, omitted: this.omitted };
  }
}

async function readText(file: string): Promise<string | undefined> {
  try {
    return await fs.readFile(file, 'utf8');
  } catch {
    // Absent on this node (a worker has no etcd state, a fresh node no agent log): nothing to add.
    return undefined;
  }
}

/** The execution record files changed since `since`, newest execution first. */
async function executionFiles(dir: string, since: number): Promise<string[]> {
  const root = path.join(dir, 'agent', 'executions');
  const ids = await fs.readdir(root).catch(() => [] as string[]);
  const dated = await Promise.all(
    ids.map(async (id) => ({ id, mtime: (await fs.stat(path.join(root, id)).catch(() => undefined))?.mtimeMs ?? 0 })),
  );
  const files: string[] = [];
  for (const { id } of dated.filter((d) => d.mtime >= since).sort((a, b) => b.mtime - a.mtime)) {
    for (const f of await fs.readdir(path.join(root, id)).catch(() => [] as string[])) files.push(path.join('agent', 'executions', id, f));
  }
  return files;
}

async function logFiles(dir: string): Promise<string[]> {
  return (await fs.readdir(dir).catch(() => [] as string[])).filter((n) => n.endsWith('.log')).sort();
}
