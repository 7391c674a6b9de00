/**
 * Agent lifecycle on a node, over its Transport: deploy (upload the bundle and, when the node has
 * no Node.js ≥ 20, this orchestrator's own Node.js binary; start it under systemd where systemd
 * runs, else detached with a pid file), status, and shutdown (stop and remove).
 */
import { createHash } from 'node:crypto';
import path from 'node:path';
import { ExitCode, HoistError, UnreachableError } from '../errors.js';
import { hashFile } from '../image/fs-util.js';
import { shellQuote as q, type Transport } from '../ssh/transport.js';
import { AgentClient, type AgentInfo } from './client.js';
import { systemdUnit, UNIT } from './systemd-unit.js';

/** What deploying and stopping an agent needs to know of a node (the inventory's node settings fit). */
export interface AgentNode {
  name: string;
  address: string;
  nodeStateDir: string;
}

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

const MIN_NODE_MAJOR = 20;

function paths(node: Pick<AgentNode, 'nodeStateDir'>) {
  const dir = path.posix.join(node.nodeStateDir, 'agent');
  return {
    dir,
    bundle: path.posix.join(dir, 'hoist-agent.mjs'),
    node: path.posix.join(dir, 'node'),
    pid: path.posix.join(dir, 'agent.pid'),
    out: path.posix.join(dir, 'agent.out'),
    socket: path.posix.join(node.nodeStateDir, 'agent.sock'),
    identity: path.posix.join(node.nodeStateDir, 'node.json'),
  };
}

/** Where the orchestrator reaches a node's agent: its socket, and the Node.js that relays to it. */
export function agentEndpoint(nodeStateDir: string): { socket: string; runtime: string } {
  const p = paths({ nodeStateDir });
  return { socket: p.socket, runtime: p.node };
}

/** What the probe commands learn about a node before a deploy or a shutdown. */
interface Probe {
  systemd: boolean;
  pid?: number;
  /** The login environment's Node.js (absolute path) and its version, if it has one. */
  loginNode?: { bin: string; version: string };
  /** What `<agent>/node` is now: a link to the node's own Node.js, or a copy of ours by sha256. */
  runtime?: { link: string } | { sha256: string };
  /** sha256 of the agent bundle on the node, if there is one. */
  bundle?: string;
  /** sha256 of the node's identity file (node.json), if there is one. */
  identity?: string;
  uname: string;
}

/**
 * Two commands, run at once: Node.js is looked up in the login user's environment (a sudo shell
 * has its own PATH), everything under the state dir as root. Each costs a login shell.
 */
async function probe(t: Transport, node: AgentNode, signal?: AbortSignal): Promise<Probe> {
  const p = paths(node);
  const login = [
    'if [ -d /run/systemd/system ] && command -v systemctl >/dev/null; then echo systemd=1; else echo systemd=0; fi',
    // --version answers before Node.js boots its runtime: ~0.1 s of CPU less per node than -e.
    `n=$(command -v node 2>/dev/null) && [ -x "$n" ] && v=$("$n" --version 2>/dev/null) && echo "node=$n \${v#v}"`,
    'echo "uname=$(uname -sm)"',
  ].join('\n');
  const rt = q(p.node);
  const root = [
    `mkdir -p ${q(p.dir)} && chmod 700 ${q(p.dir)} || exit 1`,
    `echo "pid=$(cat ${q(p.pid)} 2>/dev/null)"`,
    `if [ -L ${rt} ]; then echo "runtime=link $(readlink ${rt})"; elif [ -f ${rt} ]; then s=$(sha256sum ${rt}) && echo "runtime=\${s%% *}"; fi`,
    `if [ -f ${q(p.bundle)} ]; then s=$(sha256sum ${q(p.bundle)}) && echo "bundle=\${s%% *}"; fi`,
    `if [ -f ${q(p.identity)} ]; then s=$(sha256sum ${q(p.identity)}) && echo "identity=\${s%% *}"; fi`,
  ].join('\n');
  const [asLogin, asRoot] = await Promise.all([t.exec(login, { check: true, signal }), t.exec(root, { sudo: true, check: true, signal })]);
  const out = [...asLogin.stdout.split('\n'), ...asRoot.stdout.split('\n')];
  const value = (key: string): string | undefined => out.find((l) => l.startsWith(`${key}=`))?.slice(key.length + 1);
  const pid = Number.parseInt(value('pid') ?? '', 10);
  const found = value('node');
  const runtime = value('runtime');
  return {
    systemd: value('systemd') === '1',
    ...(Number.isInteger(pid) && pid > 1 ? { pid } : {}),
    ...(found?.startsWith('/')
      ? { loginNode: { bin: found.slice(0, found.lastIndexOf(' ')), version: found.slice(found.lastIndexOf(' ') + 1) } }
      : {}),
    ...(runtime ? { runtime: runtime.startsWith('link ') ? { link: runtime.slice(5) } : { sha256: runtime } } : {}),
    ...(value('bundle') ? { bundle: value('bundle') } : {}),
    ...(value('identity') ? { identity: value('identity') } : {}),
    uname: value('uname') ?? '',
  };
}

/** Shell that stops `pid` (TERM, KILL after 10 s) and waits until it is gone; `true` without one. */
function stopScript(pid: number | undefined): string {
  if (!pid) return 'true';
  return `{ kill ${pid} 2>/dev/null; i=0; while kill -0 ${pid} 2>/dev/null; do i=$((i+1)); [ $i -gt 100 ] && kill -9 ${pid} 2>/dev/null; [ $i -gt 150 ] && exit 1; sleep 0.1; done; }`;
}

function stopFailed(node: AgentNode, pid: number | undefined): HoistError {
  return new HoistError('ERR_AGENT_STOP', `the agent on ${node.name} (pid ${pid}) did not stop`, ExitCode.unexpected, {
    node: node.name,
    hint: `stop it by hand on ${node.name}`,
  });
}

/** Options of `deployAgent`. */
export interface DeployOptions {
  signal?: AbortSignal;
  /** Restart the agent even when it already runs this bundle with this identity. */
  restart?: boolean;
}

/** A deployed agent: who answered, and whether the one already running was kept. */
export interface DeployedAgent extends AgentInfo {
  kept: boolean;
}

/**
 * Uploads and (re)starts the agent on one node; resolves once it answers `hello`. An agent that
 * already runs this very bundle (by sha256, on disk and as started) under this identity and
 * runtime is kept, unless `restart`: restarting it would cost the node a Node.js start and its
 * in-memory state for nothing.
 */
export async function deployAgent(
  t: Transport,
  node: AgentNode,
  artifact: AgentArtifact,
  identity: NodeIdentity,
  options: DeployOptions = {},
): Promise<DeployedAgent> {
  const { signal } = options;
  const p = paths(node);
  const stdin = `${JSON.stringify(identity, null, 2)}\n`;
  const facts = await probe(t, node, signal);
  const runtime = await ensureRuntime(t, facts, p.node, signal);
  const nodeBin = runtime.path;
  const current =
    !options.restart &&
    !runtime.changed &&
    facts.bundle === artifact.sha256 &&
    facts.identity === createHash('sha256').update(stdin).digest('hex');
  if (current) {
    const running = await agentHello(t, node);
    if (running?.build === artifact.sha256 && running.version === artifact.version) return { ...running, kept: true };
  }
  // The bundle is replaced by a rename, so a running agent keeps its file until it is restarted;
  // one the node already has (same sha256) is not sent again.
  if (facts.bundle !== artifact.sha256) await t.upload(artifact.path, p.bundle, { mode: 0o755, sudo: true, signal });
  const idFile = q(p.identity);
  const writeIdentity = `cat > ${idFile}.tmp && mv -f ${idFile}.tmp ${idFile}`;
  const command = `${q(nodeBin)} ${q(p.bundle)} --state-dir ${q(node.nodeStateDir)} --build ${artifact.sha256}`;
  if (facts.systemd) {
    const unit = systemdUnit(command);
    await t.upload(Buffer.from(unit), `/etc/systemd/system/${UNIT}`, { mode: 0o644, sudo: true, signal });
    await t.exec(`${writeIdentity} && systemctl daemon-reload && systemctl enable ${UNIT} && systemctl restart ${UNIT}`, {
      sudo: true,
      check: true,
      signal,
      stdin,
    });
  } else {
    // Every fd redirected and the process in its own session: the SSH channel closes at once and
    // the agent outlives it. The old agent goes first: a new one refuses a socket that answers.
    const start = `${stopScript(facts.pid)} && ${writeIdentity} && cd / && (setsid ${command} >> ${q(p.out)} 2>&1 < /dev/null &)`;
    if ((await t.exec(start, { sudo: true, signal, stdin })).exitCode !== 0) throw stopFailed(node, facts.pid);
  }
  return { ...(await waitForAgent(t, node, artifact.version, signal)), kept: false };
}

/** Asks the agent who it is; undefined when none answers. */
export async function agentHello(t: Transport, node: AgentNode): Promise<AgentInfo | undefined> {
  let client: AgentClient | undefined;
  try {
    const { socket, runtime } = agentEndpoint(node.nodeStateDir);
    client = new AgentClient(await t.openUnixSocket(socket, { sudo: true, runtime }), { node: node.name });
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
export async function shutdownAgent(t: Transport, node: AgentNode, signal?: AbortSignal): Promise<void> {
  const p = paths(node);
  const facts = await probe(t, node, signal);
  const unit = facts.systemd
    ? `systemctl disable --now ${UNIT} >/dev/null 2>&1; rm -f /etc/systemd/system/${UNIT}; systemctl daemon-reload; `
    : '';
  const r = await t.exec(`${unit}${stopScript(facts.pid)} && rm -f ${q(p.bundle)} ${q(p.node)} ${q(p.out)}`, { sudo: true, signal });
  if (r.exitCode !== 0) throw stopFailed(node, facts.pid);
}

let ourRuntimeSha: Promise<string> | undefined;

/**
 * Makes `<agent>/node` the Node.js the agent runs with: a link to the node's own when it is ≥ 20,
 * else a copy of this orchestrator's, uploaded once (verified by sha256) and kept while it matches.
 * `changed`: the runtime is not the one a running agent was started with.
 */
async function ensureRuntime(
  t: Transport,
  facts: Probe,
  target: string,
  signal?: AbortSignal,
): Promise<{ path: string; changed: boolean }> {
  const own = facts.loginNode;
  if (own && Number.parseInt(own.version, 10) >= MIN_NODE_MAJOR) {
    const linked = facts.runtime && 'link' in facts.runtime && facts.runtime.link === own.bin;
    if (!linked) await t.exec(`ln -sfn ${q(own.bin)} ${q(target)}`, { sudo: true, check: true, signal });
    return { path: target, changed: !linked };
  }
  const [os, machine] = facts.uname.split(' ');
  const ours = { linux: 'Linux', x64: 'x86_64', arm64: 'aarch64' } as Record<string, string>;
  if (os !== ours[process.platform] || machine !== ours[process.arch]) {
    throw new HoistError(
      'ERR_AGENT_NO_NODE',
      `${t.node} has no Node.js ≥ ${MIN_NODE_MAJOR} and is ${os} ${machine}, unlike this host`,
      ExitCode.invalidInput,
      {
        node: t.node,
        hint: `install Node.js ${MIN_NODE_MAJOR} or later on ${t.node}`,
      },
    );
  }
  ourRuntimeSha ??= hashFile(process.execPath).then((h) => h.sha256);
  const sha = await ourRuntimeSha;
  const uploaded = facts.runtime && 'sha256' in facts.runtime && facts.runtime.sha256 === sha;
  if (!uploaded) await t.upload(process.execPath, target, { mode: 0o755, sudo: true, signal });
  return { path: target, changed: !uploaded };
}

async function waitForAgent(t: Transport, node: AgentNode, version: string, signal?: AbortSignal): Promise<AgentInfo> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const info = await agentHello(t, node);
    if (info) {
      if (info.version !== version)
        throw new HoistError(
          'ERR_AGENT_VERSION',
          `the agent on ${node.name} answers as version ${info.version}, expected ${version}`,
          ExitCode.unexpected,
          {
            node: node.name,
            hint: 'another agent may hold the socket; run "hoist agent shutdown" and deploy again',
          },
        );
      return info;
    }
    if (Date.now() > deadline || signal?.aborted) {
      const log = await t.exec(`tail -n 5 ${q(paths(node).out)} 2>/dev/null`, { sudo: true });
      throw new UnreachableError('ERR_AGENT_START', `the agent on ${node.name} (${node.address}) did not start`, {
        node: node.name,
        details: log.stdout.trim().split('\n').filter(Boolean),
        hint: `see ${paths(node).out} on ${node.name}`,
      });
    }
    await new Promise((r) => setTimeout(r, 200));
  }
}
