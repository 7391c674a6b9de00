/**
 * The upgrade workflow: verify the image, read the cluster (from a state file, or live through
 * freshly deployed agents), build the plan; then create the operation and, in automatic mode,
 * run it to the end, complete it and shut the agents down.
 */
import { readInstalledVersion } from '../cluster/installed-version.js';
import { liveClusterFacts } from '../cluster/live-state.js';
import { ReadOnlyNodes } from '../cluster/read-only-nodes.js';
import type { LoadedClusterState, LoadedImage } from '../config/load.js';
import type { ClusterConfig } from '../config/schema.js';
import { clusterStateToInput, type InputOptions, toUpgradeInput } from '../config/upgrade-input.js';
import { progressStamp } from '../fsm/progress.js';
import { verifyImage } from '../image/verify.js';
import { Events } from '../log/events.js';
import { buildUpgradePlan } from '../plan/builder/upgrade-plan.js';
import type { Plan } from '../plan/types.js';
import type { OperationRecord } from '../store/store.js';
import { agentArtifact, deployAgents, shutdownAgents } from './agents.js';
import { type Completion, completeUpgrade } from './complete.js';
import { createUpgrade } from './create.js';
import { makeEngine } from './engine.js';
import { type OperationEnv, operationStarted } from './env.js';
import { healthGate } from './health-gate.js';
import { completionEvent, failureEvent, recordHistory } from './history.js';
import { repairRecords } from './locked.js';

/**
 * Where the cluster's current state comes from: a state file, the live nodes (agents deployed
 * under the lease), or the live nodes read only (a dry run: nothing deployed, nothing locked).
 */
export type ClusterSource = { state: Promise<LoadedClusterState> } | { inventory: Promise<ClusterConfig>; readOnly?: boolean };

/**
 * Verifies every package of the image (a damaged or unsafe image is refused here, exit 3, not
 * half-way through an upgrade) and builds the plan. Live clusters get their agents deployed first.
 */
export async function planUpgrade(
  env: OperationEnv,
  image: LoadedImage,
  from: ClusterSource,
  options: InputOptions,
  gate: { force: boolean } = { force: false },
): Promise<PlannedUpgrade> {
  // Verified by streaming (an archive is not unpacked here); phases open the image again when they need packages.
  const imageDigest = image.source.kind === 'manifest' ? undefined : (await verifyImage(image.source.path)).digest;
  const pinned = imageDigest ? { imageDigest } : {};
  if ('state' in from) return { plan: buildUpgradePlan(clusterStateToInput(await from.state, image.manifest, options)), ...pinned };
  if (from.readOnly) {
    const { nodes, agents, pool } = await env.connect();
    const reader = new ReadOnlyNodes({ nodes, agents, pool, artifact: agentArtifact, signal: env.signal });
    try {
      const facts = await liveClusterFacts(await from.inventory, reader, env.signal);
      return { plan: buildUpgradePlan(toUpgradeInput(facts, image.manifest, options)), ...pinned };
    } finally {
      await reader.close();
    }
  }
  // The agents are redeployed under the lease: two upgrades never deploy at once, and the nodes
  // of another state directory's live operation refuse to be restarted (deployAgents).
  const cluster = await env.clusterName();
  let announced: string | undefined;
  const { facts, warnings } = await env.withLock(cluster, async (lease) => {
    // Repaired first: a close cut short by a crash would leave its node leases refusing the deploy.
    const record = (await repairRecords(env, cluster, lease, { nodes: true })).record;
    const active = record?.activeOperation;
    // Said before the agents are deployed, as Gravity did, with the version the lead master
    // records (the plan's "from"); the record of a first upgrade does not know it yet.
    if (!active) {
      announced = await installedVersion(env, await from.inventory);
      if (announced) announce(env, announced, image.manifest.metadata.version);
    }
    await deployAgents(env, undefined, active ? { operationId: active } : {});
    const { agents } = await env.connect();
    const facts = await liveClusterFacts(await from.inventory, agents, env.signal);
    // Only a new operation is gated; one already active is the operator's to finish.
    return { facts, warnings: active ? [] : await healthGate(env, gate.force) };
  });
  const plan = buildUpgradePlan(toUpgradeInput(facts, image.manifest, options));
  return { plan, ...pinned, ...(warnings.length ? { warnings } : {}), ...(announced === plan.from ? { announced: true } : {}) };
}

/** What the lead master records as installed, read before the agents run; undefined if unreadable. */
async function installedVersion(env: OperationEnv, inventory: ClusterConfig): Promise<string | undefined> {
  const { nodes, pool } = await env.connect();
  const name = inventory.spec.nodes.find((n) => n.role === 'master')?.name;
  const leader = nodes.find((n) => n.name === name);
  return leader ? readInstalledVersion(pool.get(leader.name), leader, env.signal) : undefined;
}

/** `Thu Mar  4 04:09:57 UTC\tUpgrading cluster from 1.0.0 to 2.0.0`. */
function announce(env: Pick<OperationEnv, 'progress'>, from: string, to: string): void {
  env.progress.line(`${progressStamp()}\tUpgrading cluster from ${from} to ${to}`);
}

/** A built plan and the digest of the verified image it goes to (none for a bare manifest). */
export interface PlannedUpgrade {
  plan: Plan;
  imageDigest?: string;
  /** Health-gate failures `--force` overrode, recorded in the operation. */
  warnings?: string[];
  /** "Upgrading cluster from … to …" was printed already (before the agents were deployed). */
  announced?: boolean;
}

/** What `startUpgrade` creates. */
export interface UpgradeRequest {
  plan: Plan;
  /** The image's name (manifest metadata). */
  image: string;
  /** Absolute path of the image, reopened by later commands. */
  source: string;
  /** Pinned: later commands refuse another image at `source`. */
  imageDigest?: string;
  manual: boolean;
  /** Create even if the previous upgrade was left unfinished. */
  force: boolean;
  /** Checks `force` overrode. */
  warnings?: string[];
  /** The "Upgrading cluster" line was printed already. */
  announced?: boolean;
}

/** The new operation and, for an automatic upgrade, how it finished. */
export interface UpgradeOutcome {
  operation: OperationRecord;
  completion?: Completion;
}

/** Creates the operation under the cluster lock and, unless manual, runs and completes it. */
export async function startUpgrade(env: OperationEnv, req: UpgradeRequest): Promise<UpgradeOutcome> {
  const store = env.store();
  return env.withLock(req.plan.cluster, async (lease) => {
    // A crash between two record writes of an earlier command is repaired before anything is decided.
    await repairRecords(env, req.plan.cluster, lease, { nodes: true });
    const op = await createUpgrade(store, {
      lease,
      plan: req.plan,
      image: req.image,
      source: req.source,
      ...(req.imageDigest ? { imageDigest: req.imageDigest } : {}),
      mode: req.manual ? 'manual' : 'automatic',
      createdBy: env.creator(),
      force: req.force,
      ...(req.warnings ? { warnings: req.warnings } : {}),
    });
    env.useOperationLog(op);
    await recordHistory(
      env,
      op.cluster,
      { type: 'operation.started', operation: op.id, message: `upgrade ${op.from} → ${op.to} (${op.mode})` },
      ...(op.warnings ?? []).map((w) => ({ type: 'override' as const, operation: op.id, message: w })),
    );
    env.logger.info({ event: Events.operationCreated, operation: op.id, from: op.from, to: op.to }, 'operation created');
    operationStarted(env, op, true);
    if (!req.announced) announce(env, op.from, op.to);
    if (req.manual) return { operation: op };
    const engine = await makeEngine(env, op, req.plan, []);
    try {
      await engine.resume();
    } catch (err) {
      await recordHistory(env, op.cluster, failureEvent(op.id, err));
      env.progress.line(
        `The upgrade stopped; the operation ${op.id} stays active. Next: "hoist plan" to see what failed, "hoist plan resume" to continue, "hoist rollback --dry-run" to see what a rollback would undo.`,
      );
      throw err;
    }
    const completion = await completeUpgrade(store, op, engine.state, { lease });
    await recordHistory(env, op.cluster, completionEvent(completion));
    // Agents exist for the operation; a finished automatic upgrade leaves none behind (Gravity did the same).
    if (!env.offline) await shutdownAgents(env, { released: op.id });
    return { operation: op, completion };
  });
}
