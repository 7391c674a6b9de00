/**
 * Test harness for the agent: temp state dirs, in-process agents, clients on the Unix socket,
 * a raw line connection for malformed input, and a package writer for hook tests.
 * Everything is local IPC inside a temp directory.
 */
import { promises as fs } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { stringify } from 'yaml';
import { AgentClient } from '../../../src/agent/client.js';
import { type RunningAgent, startAgent } from '../../../src/agent/server.js';

/** A logger that writes nothing. */
export const silentLog = pino({ level: 'silent' });

/** A fresh temp directory (short path: socket paths are limited to 107 bytes). */
export function tempDir(prefix = 'hoist-agent-'): Promise<string> {
  return fs.mkdtemp(path.join(os.tmpdir(), prefix));
}

/** Opens a Unix socket connection. */
export function connectSocket(socketPath: string): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(socketPath);
    socket.once('connect', () => {
      socket.off('error', reject);
      resolve(socket);
    });
    socket.once('error', reject);
  });
}

/** An agent running in this process on a temp state dir, stopped and removed by `cleanup`. */
export interface TestAgent {
  agent: RunningAgent;
  stateDir: string;
  client(): Promise<AgentClient>;
  raw(): Promise<RawConnection>;
  cleanup(): Promise<void>;
}

/** Starts an in-process agent. */
export async function startTestAgent(options: { stateDir?: string; maxLineBytes?: number; leaseTtlMs?: number } = {}): Promise<TestAgent> {
  const stateDir = options.stateDir ?? (await tempDir());
  const agent = await startAgent({
    stateDir,
    version: '9.9.9-test',
    log: silentLog,
    // Most tests mix operations on one agent; the node-lease tests pass a real TTL.
    leaseTtlMs: options.leaseTtlMs ?? 0,
    ...(options.maxLineBytes ? { maxLineBytes: options.maxLineBytes } : {}),
  });
  const clients: AgentClient[] = [];
  const raws: RawConnection[] = [];
  return {
    agent,
    stateDir,
    async client() {
      const client = new AgentClient(await connectSocket(agent.socketPath), { node: 'node-1' });
      clients.push(client);
      return client;
    },
    async raw() {
      const raw = new RawConnection(await connectSocket(agent.socketPath));
      raws.push(raw);
      return raw;
    },
    async cleanup() {
      for (const c of clients) c.close();
      for (const r of raws) r.socket.destroy();
      await agent.stop();
      await fs.rm(stateDir, { recursive: true, force: true });
    },
  };
}

/** A connection that writes raw text and reads parsed response lines in order. */
export class RawConnection {
  private buffer = '';
  private readonly lines: unknown[] = [];
  private waiter?: () => void;

  constructor(readonly socket: net.Socket) {
    socket.setEncoding('utf8');
    socket.on('data', (text: string) => {
      this.buffer += text;
      for (let nl = this.buffer.indexOf('\n'); nl !== -1; nl = this.buffer.indexOf('\n')) {
        this.lines.push(JSON.parse(this.buffer.slice(0, nl)));
        this.buffer = this.buffer.slice(nl + 1);
      }
      this.waiter?.();
    });
  }

  /** Writes text as it is (add the newline yourself). */
  write(text: string): void {
    this.socket.write(text);
  }

  /** Writes one request object as a line. */
  send(message: object): void {
    this.socket.write(`${JSON.stringify(message)}\n`);
  }

  /** The next response line. */
  async next(): Promise<Record<string, unknown>> {
    while (this.lines.length === 0) {
      if (this.socket.destroyed) throw new Error('connection closed');
      await new Promise<void>((resolve) => (this.waiter = resolve));
    }
    return this.lines.shift() as Record<string, unknown>;
  }
}

/** A request envelope with the current protocol version. */
export function request(id: string, body: Record<string, unknown>): Record<string, unknown> {
  return { v: 1, id, operationId: 'op-1', phaseId: '/checks', ...body };
}

/** Writes an unpacked package with `hooks` into the node package store of `stateDir`. */
export async function writePackage(stateDir: string, name: string, version: string, hooks: Record<string, unknown>): Promise<string> {
  const dir = path.join(stateDir, 'packages', 'unpacked', name, version);
  await fs.mkdir(dir, { recursive: true });
  await fs.writeFile(path.join(dir, 'package.yaml'), stringify({ name, version, hooks }));
  return dir;
}

/** Waits until `check` is true, polling; fails after `limitMs` so a broken test ends. */
export async function waitFor(check: () => boolean | Promise<boolean>, what: string, limitMs = 10_000): Promise<void> {
  const deadline = Date.now() + limitMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** True when `file` exists. */
export async function exists(file: string): Promise<boolean> {
  try {
    await fs.access(file);
    return true;
  } catch {
    return false;
  }
}
