/** What the plan builder needs to know: the cluster as it is and the image it goes to. Pure data. */

/** The parts of an image manifest (`app.yaml`) that shape a plan. */
export interface ImageFacts {
  name: string;
  version: string;
  /** Semver range of installed versions this image may upgrade from. */
  upgradeFrom?: string;
  /** Runtime package locator, `runtime:7.0.56-11709`. */
  runtime: string;
  etcdVersion: string;
  /** The host OS image (`spec.os`): its package's version is the OS release. */
  os?: OsImageFacts;
  /** System app locators, `name:version`. */
  systemApps: string[];
  /** Apps updated under /app before the app itself, `name:version`. */
  appDependencies: string[];
  /** Intermediate versions embedded in the image, any order (`spec.upgradeVia`). */
  upgradeVia?: IntermediateFacts[];
  /** Commands or package hooks each node runs before and after its update (`spec.nodeActions`). */
  nodeActions?: { preUpgrade: NodeActionFacts[]; postUpgrade: NodeActionFacts[] };
  /** What /checks verifies on every node (defaults apply where absent). */
  requirements?: { minDiskWriteMBps?: number; maxTimeDriftMs?: number; minFreeStateDirBytes?: number };
}

/** The OS image of an image and how a boot of it is assessed. */
export interface OsImageFacts {
  /** OS package locator, `sandbox-os:2.2.0`. */
  package: string;
  assessment: { timeoutSeconds: number; checks: { name: string; run: string | string[] }[] };
  /** Bound of each reboot, from going down to answering on the new boot (default 600). */
  rebootTimeoutSeconds?: number;
}

/** An intermediate version the image can step through: its runtime and what it upgrades from. */
export interface IntermediateFacts {
  version: string;
  upgradeFrom?: string;
  /** Runtime package locator of that version. */
  runtime: string;
  etcdVersion: string;
}

/** One per-node action: a command (`run`) or a package hook (`package` + `hook`). */
export interface NodeActionFacts {
  name: string;
  run?: string | string[];
  package?: string;
  hook?: string;
  timeoutSeconds?: number;
}

/** A node of the inventory. */
export interface NodeFacts {
  name: string;
  address: string;
  role: 'master' | 'worker';
  /** Installed runtime locator when it differs from the installed image's. */
  runtime?: string;
  /** OS release the node booted, when known. */
  os?: string;
}

/** Everything `buildUpgradePlan` reads. */
export interface UpgradeInput {
  operationId: string;
  createdAt: string;
  cluster: string;
  nodes: NodeFacts[];
  /** Lead master name; default the first master. */
  leader?: string;
  installed: ImageFacts;
  target: ImageFacts;
  /** Running etcd version; default the installed image's. */
  etcdVersion?: string;
  /** Cap on nodes handled at once in /init, /bootstrap, /config, /gc; default all. */
  parallel?: number;
  /** Workers upgraded at once: a count or a percentage like "25%"; default 1. */
  maxUnavailableWorkers?: number | string;
}
