/**
 * Read-only actions on the nodes without deploying anything: through a node's agent where one
 * runs, else through one-off runs whose files `close` removes. `upgrade --dry-run` reads the live
 * cluster with it, so a dry run leaves every node as it found it.
 */
import type { NodeAccess, RunOptions } from './node-access.js';
import { type NodeCall, type NodeReadDeps, openNodeCall } from './node-status.js';

export class ReadOnlyNodes implements Pick<NodeAccess, 'run' | 'close'> {
  private readonly opened = new Map<string, Promise<NodeCall>>();

  constructor(private readonly deps: NodeReadDeps) {}

  async run<T = unknown>(node: string, action: string, params: Record<string, unknown> = {}, _opts?: RunOptions): Promise<T> {
    let access = this.opened.get(node);
    if (!access) {
      const settings = this.deps.nodes.find((n) => n.name === node);
      if (!settings) throw new Error(`node ${node} is not in the inventory`);
      access = openNodeCall(this.deps, settings);
      this.opened.set(node, access);
    }
    return (await access).call<T>(action, params);
  }

  /** Removes what the one-off runs left (their bundles); agents that were running keep running. */
  async close(): Promise<void> {
    const all = [...this.opened.values()];
    this.opened.clear();
    await Promise.all(all.map((a) => a.then((c) => c.close()).catch(() => undefined)));
  }
}
