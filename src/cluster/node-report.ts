/**
 * The nodes' part of `hoist report`: each node answers `report.collect` (redacted and bounded on
 * the node) through its agent or a one-off run that leaves nothing behind. A node that cannot be
 * reached is noted with the reason, never failing the report; Kubernetes' view is taken once, on
 * the first master that answered.
 */
import type { FactsResult, ReportFile, ReportResult } from '../agent/actions/index.js';
import type { NodeSettings } from './inventory.js';
import { manifestFacts, type NodeCall, type NodeReadDeps, openNodeCall } from './node-status.js';

/** What one node gave. */
export interface NodeReport {
  name: string;
  address: string;
  role: 'master' | 'worker';
  state: 'collected' | 'unreachable' | 'failed';
  /** Why nothing (or not everything) was collected. */
  error?: string;
  agent?: 'running' | 'none';
  files: ReportFile[];
  /** Files left out because the node's part reached its bound. */
  omitted: string[];
}

/** Collects every node in parallel; `since` (ISO) bounds logs and execution records. */
export async function collectNodeReports(deps: NodeReadDeps, since?: string): Promise<NodeReport[]> {
  const opened = await Promise.all(deps.nodes.map((n) => open(deps, n)));
  try {
    const reports = await Promise.all(opened.map(({ node, access, error }) => collect(node, access, error, since)));
    const kubeOn = opened.find((o, i) => o.access && o.node.role === 'master' && reports[i]!.state === 'collected');
    if (kubeOn?.access) {
      const report = reports.find((r) => r.name === kubeOn.node.name)!;
      try {
        const kube = await kubeOn.access.call<ReportResult>('report.collect', { kube: true, maxBytes: 256 * 1024 });
        report.files.push(...kube.files);
        report.omitted.push(...kube.omitted);
      } catch (err) {
        report.error = `kubectl's view could not be read: ${(err as Error).message}`;
      }
    }
    return reports;
  } finally {
    await Promise.all(opened.map((o) => o.access?.close().catch(() => undefined)));
  }
}

async function open(deps: NodeReadDeps, node: NodeSettings): Promise<{ node: NodeSettings; access?: NodeCall; error?: string }> {
  try {
    return { node, access: await openNodeCall(deps, node) };
  } catch (err) {
    return { node, error: (err as Error).message };
  }
}

async function collect(node: NodeSettings, access: NodeCall | undefined, error: string | undefined, since?: string): Promise<NodeReport> {
  const base = { name: node.name, address: node.address, role: node.role, files: [], omitted: [] };
  if (!access) return { ...base, state: 'unreachable', error: error ?? 'not reached' };
  try {
    // The installed runtime's health hook also judges the etcd member on a master.
    const facts = await access.call<FactsResult>('facts', {});
    const runtime = facts.installed.runtime
      ? `${manifestFacts(facts.installed.manifest, node.name).runtime}:${facts.installed.runtime}`
      : undefined;
    const result = await access.call<ReportResult>('report.collect', {
      ...(since ? { since } : {}),
      // A master's runtime also reports its etcd members (etcdctl endpoint status and health).
      ...(runtime ? { health: runtime, etcdStatus: node.role === 'master' } : {}),
    });
    return { ...base, state: 'collected', agent: access.agent.state === 'running' ? 'running' : 'none', ...result };
  } catch (err) {
    // An agent that answers a socket check but not the request (killed meanwhile) is as good as gone.
    return { ...base, state: 'failed', error: (err as Error).message };
  }
}
