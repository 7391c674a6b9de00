/**
 * Agent lifecycle on a node, over its Transport: deploy (upload the bundle and, when the node has
 * no Node.js ≥ 20, this orchestrator's own Node.js binary; start it under systemd where systemd
 * runs, else detached with a pid file), status, and shutdown (stop and remove).
 */
import path from 'node:path';
import type { NodeSettings } from '../cluster/inventory.js';
import { HoistError, UnreachableError } from '../errors.js';
import { shellQuote as q, type Transport } from '../ssh/transport.js';
import { AgentClient, type AgentInfo } from './client.js';

/** The bundle to deploy. */
export interface AgentArtifact {
  path: string;
  sha256: string;
  version: string;
}

/** The node's identity as hooks read it (`<stateDir>/node.json`). */
export interface NodeIdentity {
  cluster: string;
  name: string;
  address: string;
  role: 'master' | 'worker';
  masters: { name: string; address: string }[];
}

const UNIT = 'hoist-agent.service';
const MIN_NODE_MAJOR = 20;

function paths(node: NodeSettings) {
  const dir = path.posix.join(node.nodeStateDir, 'agent');
  return { dir, bundle: path.posix.join(dir, 'hoist-agent.mjs'), node: path.posix.join(dir, 'node'), pid: path.posix.join(dir, 'agent.pid'), out: path.posix.join(dir, 'agent.out'), socket: path.posix.join(node.nodeStateDir, 'agent.sock') };
}

/** Uploads and (re)starts the agent on one node; resolves once it answers `hello`. */
export async function deployAgent(t: Transport, node: NodeSettings, artifact: AgentArtifact, identity: NodeIdentity, signal?: AbortSignal): Promise<AgentInfo> {
  const p = paths(node);
  await t.exec(`mkdir -p ${q(p.dir)} && chmod 700 ${q(p.dir)}`, { sudo: true, check: true, signal });
  const nodeBin = await nodeRuntime(t, p.node, signal);
  await stopAgent(t, node, signal);
  await t.upload(artifact.path, p.bundle, { mode: 0o755, sudo: true, signal });
  await t.upload(Buffer.from(JSON.stringify(identity, null, 2) + '\n'), path.posix.join(node.nodeStateDir, 'node.json'), { mode: 0o644, sudo: true, signal });
  const command = `${q(nodeBin)} ${q(p.bundle)} --state-dir ${q(node.nodeStateDir)}`;
  if (await hasSystemd(t)) {
    const unit = [
      '[Unit]',
      'Description=hoist agent',
      '[Service]',
      'Type=simple',
      `ExecStart=${command}`,
      'Restart=on-failure',
      '[Install]',
      'WantedBy=multi-user.target',
      '',
    ].join('\n');
    await t.upload(Buffer.from(unit), `/etc/systemd/system/${UNIT}`, { mode: 0o644, sudo: true, signal });
    await t.exec(`systemctl daemon-reload && systemctl enable ${UNIT} && systemctl restart ${UNIT}`, { sudo: true, check: true, signal });
  } else {
    // Every fd redirected and the process in its own session: the SSH channel closes at once and
    // the agent outlives it.
    await t.exec(`cd / && (setsid ${command} >> ${q(p.out)} 2>&1 < /dev/null &)`, { sudo: true, check: true, signal });
  }
  return waitForAgent(t, node, artifact.version, signal);
}

/** Asks the agent who it is; undefined when none answers. */
export async function agentHello(t: Transport, node: NodeSettings): Promise<AgentInfo | undefined> {
  let client: AgentClient | undefined;
  try {
    client = new AgentClient(await t.openUnixSocket(paths(node).socket, { sudo: true }), { node: node.name });
    return await client.hello({ signal: AbortSignal.timeout(5_000) });
  } catch (err) {
    // A host key problem is the operator's to see (with its fingerprint), not an offline agent.
    if (HoistError.isHoistError(err) && err.code.startsWith('ERR_SSH_HOST_KEY')) throw err;
    return undefined;
  } finally {
    client?.close();
  }
}

/** Stops the agent and removes its files (execution records stay for support). */
export async function shutdownAgent(t: Transport, node: NodeSettings, signal?: AbortSignal): Promise<void> {
  await stopAgent(t, node, signal);
  const p = paths(node);
  if (await hasSystemd(t)) {
    await t.exec(`systemctl disable ${UNIT} >/dev/null 2>&1; rm -f /etc/systemd/system/${UNIT}; systemctl daemon-reload`, { sudo: true, signal });
  }
  await t.exec(`rm -f ${q(p.bundle)} ${q(p.node)} ${q(p.out)}`, { sudo: true, check: true, signal });
}

/** Stops a running agent: the `shutdown` request first, then its pid file with SIGTERM. */
async function stopAgent(t: Transport, node: NodeSettings, signal?: AbortSignal): Promise<void> {
  const p = paths(node);
  if (await hasSystemd(t)) await t.exec(`systemctl stop ${UNIT} >/dev/null 2>&1 || true`, { sudo: true, signal });
  const pidRead = await t.exec(`cat ${q(p.pid)} 2>/dev/null || true`, { sudo: true, signal });
  const pid = Number.parseInt(pidRead.stdout.trim(), 10);
  if (!Number.isInteger(pid) || pid <= 1) return;
  // Wait for the pid to go: a new agent refuses to start while the old one holds the socket.
  const script = `kill ${pid} 2>/dev/null || exit 0; i=0; while kill -0 ${pid} 2>/dev/null; do i=$((i+1)); [ $i -gt 100 ] && kill -9 ${pid}; [ $i -gt 150 ] && exit 1; sleep 0.1; done; exit 0`;
  const r = await t.exec(script, { sudo: true, signal });
  if (r.exitCode !== 0) throw new HoistError('ERR_AGENT_STOP', `the agent on ${node.name} (pid ${pid}) did not stop`, 1, { node: node.name, hint: `stop it by hand on ${node.name}` });
}

/** The Node.js to run the agent with: the node's own if ≥ 20, else a copy of ours. */
async function nodeRuntime(t: Transport, target: string, signal?: AbortSignal): Promise<string> {
  const probe = await t.exec(`for n in "$(command -v node 2>/dev/null)" ${q(target)}; do [ -x "$n" ] && echo "$n $("$n" -e 'process.stdout.write(process.versions.node)' 2>/dev/null)"; done; uname -sm`, { signal });
  const lines = probe.stdout.trim().split('\n');
  for (const line of lines.slice(0, -1)) {
    const [bin, version] = line.split(' ');
    if (bin && version && Number.parseInt(version, 10) >= MIN_NODE_MAJOR) return bin;
  }
  const [os, machine] = (lines.at(-1) ?? '').split(' ');
  const ours = { linux: 'Linux', x64: 'x86_64', arm64: 'aarch64' } as Record<string, string>;
  if (os !== ours[process.platform] || machine !== ours[process.arch]) {
    throw new HoistError('ERR_AGENT_NO_NODE', `${t.node} has no Node.js ≥ ${MIN_NODE_MAJOR} and is ${os} ${machine}, unlike this host`, 3, {
      node: t.node,
      hint: `install Node.js ${MIN_NODE_MAJOR} or later on ${t.node}`,
    });
  }
  await t.upload(process.execPath, target, { mode: 0o755, sudo: true, signal });
  return target;
}

async function hasSystemd(t: Transport): Promise<boolean> {
  const r = await t.exec('[ -d /run/systemd/system ] && command -v systemctl >/dev/null');
  return r.exitCode === 0;
}

async function waitForAgent(t: Transport, node: NodeSettings, version: string, signal?: AbortSignal): Promise<AgentInfo> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const info = await agentHello(t, node);
    if (info) {
      if (info.version !== version) throw new HoistError('ERR_AGENT_VERSION', `the agent on ${node.name} answers as version ${info.version}, expected ${version}`, 1, { node: node.name, hint: 'another agent may hold the socket; run "hoist agent shutdown" and deploy again' });
      return info;
    }
    if (Date.now() > deadline || signal?.aborted) {
      const log = await t.exec(`tail -n 5 ${q(paths(node).out)} 2>/dev/null`, { sudo: true });
      throw new UnreachableError('ERR_AGENT_START', `the agent on ${node.name} (${node.address}) did not start`, { node: node.name, details: log.stdout.trim().split('\n').filter(Boolean), hint: `see ${paths(node).out} on ${node.name}` });
    }
    await new Promise((r) => setTimeout(r, 200));
  }
}
