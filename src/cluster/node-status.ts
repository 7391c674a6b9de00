/**
 * The nodes as they are now, read live: through each node's agent where one runs, else through a
 * one-off agent run over SSH that leaves nothing on the node (agent/once.ts). A node is degraded
 * when one of its probes fails: the agent cannot be reached, the runtime's health hook fails, its
 * Kubernetes node is not Ready, or its etcd member is unhealthy. Used by `hoist status` and by
 * the health gate of `hoist upgrade`.
 */
import type { FactsResult, ProbeResult } from '../agent/actions/index.js';
import { type AgentArtifact, agentEndpoint } from '../agent/lifecycle.js';
import { OnceSession } from '../agent/once.js';
import { manifestFromText } from '../config/load.js';
import { ExitCode, HoistError } from '../errors.js';
import type { SshPool } from '../ssh/pool.js';
import { shellQuote } from '../ssh/transport.js';
import type { ClusterAgents } from './agents.js';
import type { NodeSettings } from './inventory.js';
import { type KubeNodeState, parseKubeNodes } from './kube-nodes.js';

/** The probes whose failure makes a node degraded. */
export type ProbeName = 'agent' | 'runtime-health' | 'kube-ready' | 'etcd-health';

/** One failed probe. */
export interface ProbeFailure {
  probe: ProbeName;
  message: string;
}

/** One node as read now. */
export interface NodeStatus {
  name: string;
  address: string;
  role: 'master' | 'worker';
  /** `running`: a deployed agent answered; `none`: read through a one-off run; `unreachable`: not read. */
  agent: { state: 'running' | 'none' | 'unreachable'; version: string | null };
  runtime: { version: string | null; health: 'healthy' | 'unhealthy' | 'unknown'; message: string | null };
  kube: KubeNodeState | null;
  /** The cluster image version the node records as installed. */
  image: string | null;
  /** The installed image's manifest text (the lead master's is the cluster's). */
  manifest: string | null;
  failures: ProbeFailure[];
}

/** How the cluster's nodes read. */
export interface ClusterHealth {
  state: 'healthy' | 'degraded';
  /** Every failed probe, in node order. */
  failures: (ProbeFailure & { node: string })[];
}

/** What reading the nodes needs. */
export interface NodeReadDeps {
  nodes: NodeSettings[];
  agents: ClusterAgents;
  pool: SshPool;
  artifact: () => AgentArtifact;
  signal?: AbortSignal;
  /** Seconds a probe may take (the health hook's limit). */
  probeSeconds?: number;
}

/**
 * The health hook's limit in a probe: a healthy node answers at once, an unhealthy one is given
 * this long to recover (the hook retries), with room for a loaded node to start Node.js.
 */
const PROBE_SECONDS = 8;

/** Reads every node in parallel; never throws for one node's trouble, which lands in its failures. */
export async function readNodes(deps: NodeReadDeps): Promise<NodeStatus[]> {
  // Kubernetes' view is read on the first master, in the same visit as its own probes.
  const kubeOn = deps.nodes.find((n) => n.role === 'master')?.name;
  const read = await Promise.all(deps.nodes.map((n) => readNode(deps, n, n.name === kubeOn)));
  const statuses = read.map((r) => r.status);
  const kube = read.find((r) => r.kube)?.kube;
  if (kube) addKube(statuses, kube);
  return statuses;
}

/** The cluster health line's facts. */
export function clusterHealth(nodes: NodeStatus[]): ClusterHealth {
  const failures = nodes.flatMap((n) => n.failures.map((f) => ({ node: n.name, probe: f.probe, message: f.message })));
  return { state: failures.length ? 'degraded' : 'healthy', failures };
}

/** Runs a read-only agent action on one node. */
export type Call = <T>(action: string, params: Record<string, unknown>) => Promise<T>;

function emptyStatus(node: NodeSettings): NodeStatus {
  return {
    name: node.name,
    address: node.address,
    role: node.role,
    agent: { state: 'unreachable', version: null },
    runtime: { version: null, health: 'unknown', message: null },
    kube: null,
    image: null,
    manifest: null,
    failures: [],
  };
}

/** How a node is reached for read-only actions: its agent, or a one-off run (close removes it). */
export interface NodeCall {
  agent: NodeStatus['agent'];
  call: Call;
  close(): Promise<void>;
}

/**
 * Reaches a node through its agent, else through a one-off run whose bundle `close` removes;
 * throws when the node cannot be reached at all.
 */
export async function openNodeCall(deps: NodeReadDeps, node: NodeSettings): Promise<NodeCall> {
  try {
    const info = (await hasAgentSocket(deps, node)) ? await deps.agents.hello(node.name) : undefined;
    if (!info) throw new HoistError('ERR_AGENT_OFFLINE', `no agent socket on ${node.name}`, ExitCode.unreachable);
    return {
      agent: { state: 'running', version: info.version },
      call: (action, params) => deps.agents.run(node.name, action, params, deps.signal ? { signal: deps.signal } : {}),
      close: async () => undefined,
    };
  } catch (err) {
    if (!(HoistError.isHoistError(err) && err.code === 'ERR_AGENT_OFFLINE')) throw err;
    const once = new OnceSession(deps.pool.get(node.name), node, deps.artifact, deps.signal);
    return { agent: { state: 'none', version: null }, call: (action, params) => once.run(action, params), close: () => once.close() };
  }
}

/** One node: through its agent, else a one-off run whose bundle is removed before returning. */
async function readNode(deps: NodeReadDeps, node: NodeSettings, kube: boolean): Promise<{ status: NodeStatus; kube?: KubeReading }> {
  const status = emptyStatus(node);
  let access: NodeCall;
  try {
    access = await openNodeCall(deps, node);
  } catch (err) {
    status.failures.push({ probe: 'agent', message: messageOf(err) });
    return { status };
  }
  status.agent = access.agent;
  try {
    await probeNode(deps, status, access.call);
    if (!kube) return { status };
    return { status, kube: await readKube(node.name, access.call) };
  } finally {
    await access.close();
  }
}

/**
 * Whether an agent may be listening: asked before connecting, so a node without one is not first
 * tried through a socket relay that fails (and costs a round trip of its own).
 */
async function hasAgentSocket(deps: NodeReadDeps, node: NodeSettings): Promise<boolean> {
  if (deps.agents.where(node.name) === 'locally') return true;
  const { socket } = agentEndpoint(node.nodeStateDir);
  return (
    (await deps.pool.get(node.name).exec(`test -S ${shellQuote(socket)}`, { sudo: true, ...(deps.signal ? { signal: deps.signal } : {}) }))
      .exitCode === 0
  );
}

async function probeNode(deps: NodeReadDeps, status: NodeStatus, call: Call): Promise<void> {
  try {
    const facts = await call<FactsResult>('facts', {});
    status.manifest = facts.installed.manifest;
    const installed = manifestFacts(facts.installed.manifest, status.name);
    status.image = installed.version;
    status.runtime.version = facts.installed.runtime;
    if (!facts.installed.runtime) {
      status.runtime.message = 'no runtime recorded (runtime/current)';
      status.failures.push({ probe: 'runtime-health', message: `node ${status.name} records no running runtime` });
      return;
    }
    const probe = await call<ProbeResult>('node.probe', {
      health: `${installed.runtime}:${facts.installed.runtime}`,
      timeoutSeconds: deps.probeSeconds ?? PROBE_SECONDS,
    });
    if (probe.health) {
      status.runtime.health = probe.health.healthy ? 'healthy' : 'unhealthy';
      status.runtime.message = probe.health.message;
      if (!probe.health.healthy) status.failures.push({ probe: healthProbeOf(probe.health.message), message: probe.health.message });
    }
  } catch (err) {
    status.failures.push({
      probe: status.agent.state === 'running' ? 'runtime-health' : 'agent',
      message: messageOf(err),
    });
  }
}

/**
 * The runtime's health hook checks the service and, on a master, its etcd member; a failure that
 * names the etcd member is the etcd probe's (the hook's contract: it says what is unhealthy).
 */
function healthProbeOf(message: string): ProbeName {
  return /\betcd\b/i.test(message) ? 'etcd-health' : 'runtime-health';
}

/** Kubernetes' nodes as one master reads them, or why they could not be read. */
type KubeReading = { nodes: Map<string, KubeNodeState> } | { on: string; error: string };

async function readKube(master: string, call: Call): Promise<KubeReading> {
  try {
    const r = (await call<ProbeResult>('node.probe', { kubeNodes: true })).kubeNodes!;
    if (r.exitCode !== 0) return { on: master, error: `kubectl get nodes on ${master} exited ${r.exitCode}: ${lastLine(r.stderr)}` };
    return { nodes: parseKubeNodes(r.stdout) };
  } catch (err) {
    return { on: master, error: messageOf(err) };
  }
}

function addKube(statuses: NodeStatus[], kube: KubeReading): void {
  if ('error' in kube) {
    statuses
      .find((s) => s.name === kube.on)
      ?.failures.push({ probe: 'kube-ready', message: `could not read the Kubernetes nodes: ${kube.error}` });
    return;
  }
  for (const s of statuses) {
    const k = kube.nodes.get(s.name);
    s.kube = k ?? null;
    if (!k) s.failures.push({ probe: 'kube-ready', message: `node ${s.name} is not registered with Kubernetes` });
    else if (!k.ready)
      s.failures.push({ probe: 'kube-ready', message: `Kubernetes node ${s.name} is NotReady${k.reason ? ` (${k.reason})` : ''}` });
  }
}

/** The installed manifest's version and runtime package name; a damaged one reads as unknown. */
export function manifestFacts(text: string | null, node: string): { version: string | null; runtime: string } {
  if (!text) return { version: null, runtime: 'runtime' };
  try {
    const m = manifestFromText(text, `${node}:installed/app.yaml`);
    return { version: m.metadata.version, runtime: m.spec.runtime.package.split(':')[0] ?? 'runtime' };
  } catch {
    // A node whose record does not parse is shown without a version; planning names the problem.
    return { version: null, runtime: 'runtime' };
  }
}

function lastLine(text: string): string {
  return text.trim().split('\n').at(-1) ?? '';
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
