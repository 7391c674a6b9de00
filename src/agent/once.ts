/**
 * Read-only agent actions on a node where no agent runs: the bundle is uploaded once to a fresh
 * temporary directory, each action runs once (`--once`) with the node's Node.js, and `close`
 * removes the directory, so the node keeps nothing of it. Used by `hoist status` before any
 * agent is deployed.
 */
import { randomBytes } from 'node:crypto';
import { ExitCode, HoistError } from '../errors.js';
import { type ExecResult, shellQuote as q, type Transport } from '../ssh/transport.js';
import { fromWireError } from './errors.js';
import { type AgentArtifact, type AgentNode, agentEndpoint } from './lifecycle.js';

/** A bundle on one node for a few one-off actions; `close` must follow. */
export class OnceSession {
  private dir?: Promise<string>;

  constructor(
    private readonly t: Transport,
    private readonly node: AgentNode,
    private readonly artifact: () => AgentArtifact,
    private readonly signal?: AbortSignal,
  ) {}

  /** Runs `action` with `params`; throws the action's coded error. */
  async run<T>(action: string, params: Record<string, unknown>): Promise<T> {
    this.dir ??= this.upload();
    const dir = await this.dir;
    const { runtime } = agentEndpoint(this.node.nodeStateDir);
    // The agent's own Node.js if a deploy left one, else the login environment's.
    const script = [
      `n=${q(runtime)}; [ -x "$n" ] || n=$(command -v node) || { echo '{"error":{"code":"ERR_AGENT_NO_NODE","message":"no Node.js on the node"}}'; exit 0; }`,
      `exec "$n" ${q(`${dir}/hoist-agent.mjs`)} --state-dir ${q(this.node.nodeStateDir)} --once ${q(action)}`,
    ].join('\n');
    const out = await this.exec(script, JSON.stringify(params));
    return this.answer<T>(out);
  }

  /** Removes the bundle's directory (also after a failed upload or an interrupted run). */
  async close(): Promise<void> {
    if (this.dir) await this.exec(`rm -rf ${q(this.name)}`).catch(() => undefined);
  }

  /** Unguessable; made with mkdir, never found: someone else's directory there is refused. */
  private readonly name = `/tmp/hoist-once.${randomBytes(8).toString('hex')}`;

  private async upload(): Promise<string> {
    const dir = q(this.name);
    const made = await this.exec(`mkdir -m 700 ${dir}`);
    if (made.exitCode !== 0) {
      throw new HoistError('ERR_AGENT_ONCE', `could not create ${this.name} on ${this.node.name}`, ExitCode.unexpected, {
        node: this.node.name,
      });
    }
    const bundle = `${this.name}/hoist-agent.mjs`;
    await this.t.upload(this.artifact().path, bundle, { mode: 0o700, sudo: true, ...this.aborts() });
    return this.name;
  }

  private aborts(): { signal?: AbortSignal } {
    return this.signal ? { signal: this.signal } : {};
  }

  private exec(cmd: string, stdin?: string): Promise<ExecResult> {
    return this.t.exec(cmd, { sudo: true, ...(stdin !== undefined ? { stdin } : {}), ...this.aborts() });
  }

  private answer<T>(out: { exitCode: number; stdout: string; stderr: string }): T {
    const line = out.stdout.trim().split('\n').at(-1) ?? '';
    let answer: { result?: T; error?: { code: string; message: string; hint?: string | null } };
    try {
      answer = JSON.parse(line) as typeof answer;
    } catch {
      throw new HoistError(
        'ERR_AGENT_ONCE',
        `the one-off agent on ${this.node.name} exited ${out.exitCode} without an answer: ${out.stderr.trim().split('\n').at(-1) ?? ''}`,
        ExitCode.unexpected,
        { node: this.node.name, hint: 'check that the node has Node.js ≥ 20, or deploy the agents ("hoist agent deploy")' },
      );
    }
    if (answer.error) {
      const { code, message, hint } = answer.error;
      throw fromWireError({ code, message, ...(hint ? { hint } : {}) });
    }
    return answer.result as T;
  }
}
