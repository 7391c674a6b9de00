/**
 * Where the changelog's appends go: straight to the etcd leader when it is known. etcd3 sends
 * each call to a member picked at random, and a write that reaches a follower is forwarded to the
 * leader, and answered only once the follower has heard of the commit and applied it too: two more
 * hops, and more CPU for members that share cores. The leader is found in the background
 * (each member's status names the leader, and says whether it is that one) and looked for again
 * every so often, since leadership moves; until then, and whenever a call through it fails, the
 * pool of all members carries the write, so a lost leader costs one retry, never an error.
 */
import type { Etcd3 } from 'etcd3';
import { connect, type EtcdStoreConfig } from './etcd-client.js';

/** How long a found leader is trusted before it is looked for again. */
const RECHECK_MS = 30_000;
/** After no leader was found (or it failed), how long before the next look. */
const RETRY_MS = 2_000;
/** Bound of one status call while looking. */
const STATUS_MS = 2_000;

export class LeaderRoute {
  /** One client per member, made at the first look and kept: a look switches, never reconnects. */
  private members: Etcd3[] | undefined;
  private pinned: Etcd3 | undefined;
  private nextLook = 0;
  private looking = false;
  private closed = false;

  constructor(
    private readonly config: EtcdStoreConfig,
    /** Bound of one write through the leader; the pool gets the rest of the call's bound. */
    private readonly writeTimeoutMs: number,
  ) {}

  /** The leader's own client, or undefined (use the pool); starts a look when one is due. */
  client(): Etcd3 | undefined {
    if (!this.looking && !this.closed && Date.now() >= this.nextLook && this.config.endpoints.length > 1) {
      this.looking = true;
      void this.look().finally(() => {
        this.looking = false;
      });
    }
    return this.pinned;
  }

  /** A call through the leader's client failed: the pool carries writes until the next look. */
  failed(): void {
    this.pinned = undefined;
    this.nextLook = Date.now() + RETRY_MS;
  }

  close(): void {
    this.closed = true;
    this.pinned = undefined;
    for (const c of this.members ?? []) c.close();
  }

  private async look(): Promise<void> {
    this.members ??= this.config.endpoints.map((e) => connect({ ...this.config, endpoints: [e] }, this.writeTimeoutMs));
    const members = this.members;
    const statuses = await Promise.all(
      members.map((c) => c.maintenance.status({ deadline: Date.now() + STATUS_MS }).catch(() => undefined)),
    );
    if (this.closed) return;
    const at = statuses.findIndex((s) => s !== undefined && s.leader !== '0' && s.header.member_id === s.leader);
    this.pinned = at >= 0 ? members[at] : undefined;
    this.nextLook = Date.now() + (this.pinned ? RECHECK_MS : RETRY_MS);
  }
}
