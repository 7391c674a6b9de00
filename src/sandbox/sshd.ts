/**
 * One real OpenSSH sshd per sandbox node: its config, host key, start, readiness and stop.
 * sshd runs in the foreground (-D) of a detached child so its pid is known at once and it
 * outlives the `hoist sandbox up` process.
 */
import { spawn } from 'node:child_process';
import { constants, promises as fs } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { execa } from 'execa';
import type { Logger } from 'pino';
import { ExitCode, HoistError, InputError } from '../errors.js';
import type { SandboxNodeLayout } from './nodes.js';
import { isSandboxSshd, sshdDescendants, terminate } from './processes.js';

const SSHD_CANDIDATES = ['/usr/sbin/sshd', '/usr/local/sbin/sshd'];

/** Absolute path of sshd, installing openssh-server with apt-get when it is missing. */
export async function ensureSshd(log?: Logger): Promise<string> {
  const found = await findSshd();
  if (found) return prepareRuntime(found);
  log?.info({ event: 'sandbox.install' }, 'sshd is missing: installing openssh-server (apt-get install -y openssh-server)');
  const r = await execa('apt-get', ['install', '-y', 'openssh-server'], { reject: false, env: { DEBIAN_FRONTEND: 'noninteractive' } });
  const installed = await findSshd();
  if (r.failed || !installed) {
    throw new HoistError(
      'ERR_SANDBOX_SSHD_MISSING',
      `sshd is not installed and apt-get install openssh-server failed: ${r.shortMessage}`,
      ExitCode.unexpected,
      {
        details: String(r.stderr ?? '')
          .split('\n')
          .filter(Boolean)
          .slice(-5),
        hint: 'install OpenSSH server by hand (apt-get install openssh-server), then re-run',
      },
    );
  }
  return prepareRuntime(installed);
}

// Privilege separation needs /run/sshd (sshd -t checks it too); it is absent when no system sshd ever ran.
async function prepareRuntime(sshd: string): Promise<string> {
  await fs.mkdir('/run/sshd', { recursive: true, mode: 0o755 });
  return sshd;
}

async function findSshd(): Promise<string | undefined> {
  for (const candidate of SSHD_CANDIDATES) {
    if (
      await fs.access(candidate, constants.X_OK).then(
        () => true,
        () => false,
      )
    )
      return candidate;
  }
  return undefined;
}

/** The sshd_config of a node; `extra` overrides or adds keywords (tests use it to switch features off). */
export function renderSshdConfig(node: SandboxNodeLayout, authorizedKeys: string, extra: Record<string, string> = {}): string {
  const options: Record<string, string> = {
    ListenAddress: `${node.address}:${node.port}`,
    HostKey: node.sshd.hostKey,
    PidFile: node.sshd.pidFile,
    AuthorizedKeysFile: authorizedKeys,
    PermitRootLogin: 'prohibit-password',
    PubkeyAuthentication: 'yes',
    PasswordAuthentication: 'no',
    KbdInteractiveAuthentication: 'no',
    UsePAM: 'no',
    // The node directories live wherever the sandbox dir is; their owners and modes are not sshd's business.
    StrictModes: 'no',
    AllowStreamLocalForwarding: 'yes',
    AllowTcpForwarding: 'yes',
    Subsystem: 'sftp internal-sftp',
    // Agents, uploads and parallel phases share one connection per node.
    MaxSessions: '50',
    MaxStartups: '100',
    PrintMotd: 'no',
    LogLevel: 'INFO',
    ...extra,
    // The nodes log in to this host's own accounts, whose interactive setup is not a node's (root's
    // ~/.bashrc runs `pyenv init` here: 1–3 s on every command). bash reads ~/.bashrc for an SSH
    // command only as a first-level shell; SHLVL=1 makes it the second.
    SetEnv: ['SHLVL=1', extra.SetEnv].filter(Boolean).join(' '),
  };
  const lines = Object.entries(options).map(([key, value]) => `${key} ${value}`);
  return `# sshd of sandbox node ${node.name}\n${lines.join('\n')}\n`;
}

/** Refuses an address whose port is already bound (another sandbox or a system sshd on 0.0.0.0). */
export async function assertAddressFree(node: SandboxNodeLayout): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const server = net.createServer();
    server.once('error', (err: NodeJS.ErrnoException) => {
      reject(
        new InputError(
          'ERR_SANDBOX_ADDRESS_IN_USE',
          `${node.address}:${node.port} for sandbox node ${node.name} is already in use (${err.code ?? err.message})`,
          {
            node: node.name,
            hint: 'run hoist sandbox down for the sandbox that uses it, or choose another first address',
          },
        ),
      );
    });
    server.listen({ host: node.address, port: node.port, exclusive: true }, () => server.close(() => resolve()));
  });
}

/** Checks the config with `sshd -t` so a mistake is reported before anything starts. */
export async function validateSshdConfig(sshd: string, node: SandboxNodeLayout): Promise<void> {
  const r = await execa(sshd, ['-t', '-f', node.sshd.config], { reject: false });
  if (r.exitCode !== 0) {
    throw new HoistError('ERR_SANDBOX_SSHD_CONFIG', `sshd rejects the config of ${node.name} (${node.sshd.config})`, ExitCode.unexpected, {
      node: node.name,
      details: String(r.stderr).split('\n').filter(Boolean).slice(-5),
      hint: 'check the extra sshd options given to the sandbox',
    });
  }
}

/** Starts the node's sshd and resolves with its pid once it accepts connections. */
export async function startSshd(sshd: string, node: SandboxNodeLayout, timeoutMs = 10_000): Promise<number> {
  const child = spawn(sshd, ['-D', '-f', node.sshd.config, '-E', node.sshd.logFile], { detached: true, stdio: 'ignore' });
  child.unref();
  const pid = child.pid;
  let exited: string | undefined;
  child.once('exit', (code, signal) => {
    exited = signal ? `signal ${signal}` : `exit code ${code}`;
  });
  child.once('error', (err) => {
    exited = err.message;
  });
  const deadline = Date.now() + timeoutMs;
  while (pid !== undefined && exited === undefined && Date.now() < deadline) {
    if (await accepts(node.address, node.port)) return pid;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  if (pid !== undefined && exited === undefined) await terminate([pid], 1_000);
  const logTail = (await fs.readFile(node.sshd.logFile, 'utf8').catch(() => '')).split('\n').filter(Boolean).slice(-5);
  throw new HoistError(
    'ERR_SANDBOX_SSHD_START',
    `sshd of ${node.name} did not start on ${node.address}:${node.port} (${exited ?? 'not listening in time'})`,
    ExitCode.unexpected,
    {
      node: node.name,
      details: logTail,
      hint: `see ${node.sshd.logFile}`,
    },
  );
}

function accepts(address: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: address, port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/**
 * Stops the node's sshd and the sessions it forked, if `pid` still is that sshd. Returns false
 * when the pid no longer belongs to it (nothing was signalled).
 */
export async function stopSshd(pid: number, node: Pick<SandboxNodeLayout, 'sshd'>): Promise<boolean> {
  if (!(await isSandboxSshd(pid, node.sshd.config))) return false;
  // Sessions outlive a stopped listener; collect them first, while they are still its children.
  const sessions = await sshdDescendants(pid);
  await terminate([pid, ...sessions]);
  return true;
}

/** Generates an ed25519 key pair at `file` (and `file`.pub) with ssh-keygen. */
export async function generateKey(file: string, comment: string): Promise<string> {
  await fs.mkdir(path.dirname(file), { recursive: true });
  await execa('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', comment, '-f', file]);
  const pub = await fs.readFile(`${file}.pub`, 'utf8');
  return pub.trim();
}
