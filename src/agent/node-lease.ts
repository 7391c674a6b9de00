/**
 * The node lease: which operation this node serves (as k0sctl's `phase/lock.go` locks a host for
 * one run). The first request of an operation takes it; later requests of the same operation
 * renew it (and may raise its epoch); a request of another operation, or one without operation
 * that changes the node, is refused while the lease is live, and an epoch older than the lease's
 * is refused always — that is the fencing of a paused orchestrator whose cluster lease was taken
 * over. The lease ends when its operation releases it or when nobody renewed it for `ttlMs`.
 *
 * Kept in `<stateDir>/agent/lease.json`, which `agent shutdown` leaves in place, so a restarted
 * agent keeps serving the same operation.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { readRecord, recordJson, writeFileAtomic } from '../durable-files.js';
import { ExitCode } from '../errors.js';
import { AgentError } from './errors.js';
import { type NodeLease, nodeLeaseSchema, type Request } from './protocol.js';

/** A lease nobody renewed for this long is free: an orchestrator that died without releasing it. */
export const NODE_LEASE_TTL_MS = 60 * 60 * 1000;

/** Actions that only read the node: allowed to anyone, whoever holds the lease. */
const READ_ONLY = new Set(['facts', 'node.probe', 'report.collect', 'check.tmp', 'check.time', 'check.disk-write']);

/** Renewals closer together than this only move the in-memory heartbeat. */
const PERSIST_EVERY_MS = 30_000;

/** The lease of one node. */
export class NodeLeaseKeeper {
  private lease?: NodeLease;
  private persisted = 0;

  private constructor(
    private readonly file: string,
    private readonly ttlMs: number,
  ) {}

  /** Loads the lease a previous agent left. */
  static async open(stateDir: string, ttlMs = NODE_LEASE_TTL_MS): Promise<NodeLeaseKeeper> {
    const keeper = new NodeLeaseKeeper(path.join(stateDir, 'agent', 'lease.json'), ttlMs);
    try {
      keeper.lease = await readRecord(keeper.file, nodeLeaseSchema);
    } catch {
      // A damaged lease file protects nothing; the next operation request writes a good one.
      keeper.lease = undefined;
    }
    return keeper;
  }

  /** The live lease, if any. */
  current(now = Date.now()): NodeLease | undefined {
    if (this.lease && Date.parse(this.lease.expires) <= now) return undefined;
    return this.lease;
  }

  /**
   * Admits `request` (of `action`, for a run) or throws the refusal naming the holder. A request
   * of an operation takes or renews the lease.
   */
  async admit(request: Request, action?: string): Promise<void> {
    const now = Date.now();
    const held = this.current(now);
    const op = request.operationId;
    if (!op) {
      if (!held || (action !== undefined && READ_ONLY.has(action))) return;
      throw this.refusal(held, `${action ? `action "${action}"` : `a ${request.type} request`} outside any operation`);
    }
    if (held && held.operationId !== op) throw this.refusal(held, `operation ${op}`);
    if (held && request.epoch < held.epoch) {
      throw new AgentError(
        'ERR_AGENT_LEASE_STALE',
        `refused a request of operation ${op} with epoch ${request.epoch}: this node serves epoch ${held.epoch}${holderText(held)}`,
        ExitCode.stateConflict,
        { hint: 'a newer run of this operation owns the node; this run lost its lease and must stop' },
      );
    }
    const changed = !held || held.epoch !== request.epoch || held.holder?.pid !== request.holder?.pid;
    const stamp = new Date(now).toISOString();
    this.lease = {
      operationId: op,
      epoch: request.epoch,
      ...(request.holder ? { holder: request.holder } : held?.holder ? { holder: held.holder } : {}),
      acquired: held?.acquired ?? stamp,
      heartbeat: stamp,
      expires: new Date(now + this.ttlMs).toISOString(),
    };
    if (changed || now - this.persisted > PERSIST_EVERY_MS) await this.persist(now);
  }

  /** Drops the lease of `operationId` (the operation is over); another operation's is kept. */
  async release(request: Request): Promise<void> {
    const held = this.current();
    if (!held) return;
    if (held.operationId !== request.operationId) throw this.refusal(held, `release by operation ${request.operationId || '(none)'}`);
    this.lease = undefined;
    await fs.rm(this.file, { force: true });
  }

  private async persist(now: number): Promise<void> {
    // Durable: a node that reboots must still refuse the other operation.
    await writeFileAtomic(this.file, recordJson(this.lease), { durable: true });
    this.persisted = now;
  }

  private refusal(held: NodeLease, what: string): AgentError {
    return new AgentError(
      'ERR_AGENT_LEASE_HELD',
      `this node serves operation ${held.operationId}${holderText(held)} (epoch ${held.epoch}, lease until ${held.expires}); refused ${what}`,
      ExitCode.stateConflict,
      {
        hint: `finish or roll back operation ${held.operationId} from the state directory that created it; its lease is released when it ends`,
      },
    );
  }
}

function holderText(lease: NodeLease): string {
  return lease.holder ? `, held by pid ${lease.holder.pid} on ${lease.holder.host}` : '';
}
