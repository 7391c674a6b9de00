/**
 * zod schemas of the three input documents: the inventory (`Cluster`), the image manifest
 * (`ClusterImage`) and the offline cluster state (`ClusterState`). Every object is strict so a
 * misspelt key is reported instead of silently ignored. Messages say what is expected; the
 * generic ones (wrong type, missing key) come from the error map in problems.ts.
 */
import { isIPv4 } from 'node:net';
import { posix } from 'node:path';
import semver from 'semver';
import * as z from 'zod';
import { isLocator, isNodeName, isSemver } from '../plan/names.js';
import { showValue } from './problems.js';

/** Documented defaults of the inventory. */
const DEFAULTS = { nodeStateDir: '/var/lib/hoist', sshUser: 'root', sshPort: 22 } as const;

/** Error function for a field: "required: expected X" when absent, else "expected X, got V". */
function expecting(what: string) {
  return (issue: { input?: unknown }): string =>
    issue.input === undefined ? `required: expected ${what}` : `expected ${what}, got ${showValue(issue.input)}`;
}

/** A string that must pass `test`; wrong types and failed tests share one message. */
function checkedString(what: string, test: (value: string) => boolean) {
  return z.string({ error: expecting(what) }).refine(test, { error: expecting(what) });
}

const DNS_NAME = /^(?=.{1,253}$)[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/i;

// A dotted-quad that is not a valid IPv4 address is a typo, not a hostname.
function isAddress(value: string): boolean {
  if (isIPv4(value)) return true;
  return DNS_NAME.test(value) && !/^[\d.]+$/.test(value);
}

function isRelativeInside(value: string): boolean {
  const normal = posix.normalize(value);
  return value !== '' && !posix.isAbsolute(value) && normal !== '..' && !normal.startsWith('../');
}

const nodeName = checkedString('a DNS label (lowercase letters, digits and "-", at most 63 characters)', isNodeName);
const resourceName = checkedString('a DNS name (lowercase letters, digits, "-" and ".")', (v) => DNS_NAME.test(v));
const address = checkedString('an IPv4 address or a hostname', isAddress);
const portError = expecting('a TCP port (an integer from 1 to 65535)');
const port = z.int({ error: portError }).min(1, { error: portError }).max(65535, { error: portError });
const sshUser = checkedString('a user name', (v) => /^[A-Za-z0-9_][A-Za-z0-9_.-]*$/.test(v));
const filePath = checkedString('a file path', (v) => v.trim() !== '');
const absolutePath = checkedString('an absolute path', (v) => posix.isAbsolute(v));
const version = checkedString('a semver version like 2.0.0', isSemver);
const runtimeLocator = checkedString('a package locator name:version like runtime:7.0.56-11709', isLocator);
const appLocator = checkedString('an app locator name:version like dns-app:7.0.3', isLocator);
const versionRange = checkedString('a semver range like ">=1.0.0"', (v) => v.trim() !== '' && semver.validRange(v) !== null);
const hookPath = checkedString('a path inside the image, relative to app.yaml', isRelativeInside);
const positive = z.number({ error: expecting('a positive number') }).positive({ error: expecting('a positive number') });
const count = z.int({ error: expecting('a whole number >= 0') }).min(0, { error: expecting('a whole number >= 0') });

/** A jump host every SSH connection to a node goes through. */
const BastionSchema = z.strictObject({
  address,
  port: port.default(DEFAULTS.sshPort),
  user: sshUser.optional(),
  identityFile: filePath.optional(),
});

/** Cluster-wide SSH settings; user and port have defaults. */
const SshSchema = z.strictObject({
  user: sshUser.default(DEFAULTS.sshUser),
  port: port.default(DEFAULTS.sshPort),
  identityFile: filePath.optional(),
  knownHostsFile: filePath.optional(),
  bastion: BastionSchema.optional(),
});

/** Per-node SSH overrides; anything unset falls back to the cluster's. */
const NodeSshSchema = z.strictObject({
  user: sshUser.optional(),
  port: port.optional(),
  identityFile: filePath.optional(),
  knownHostsFile: filePath.optional(),
  bastion: BastionSchema.optional(),
});

/** One inventory node. */
const NodeSchema = z.strictObject({
  name: nodeName,
  address,
  role: z.enum(['master', 'worker'], { error: expecting('"master" or "worker"') }),
  nodeStateDir: absolutePath.optional(),
  ssh: NodeSshSchema.optional(),
});

const endpoint = checkedString('an etcd endpoint host:port or http(s)://host:port', (v) =>
  /^(https?:\/\/)?[A-Za-z0-9.\-[\]:]+:\d{1,5}$/.test(v),
);

/** Where operations are stored when not in the state directory (README "Operation store"). */
export const StoreSchema = z.strictObject({
  etcd: z.strictObject({
    endpoints: z.array(endpoint, { error: expecting('a list of etcd endpoints') }).min(1, { error: 'expected at least one endpoint' }),
    prefix: z.string().startsWith('/', { error: 'expected a key prefix starting with "/"' }).optional(),
    tls: z.strictObject({ ca: filePath, cert: filePath.optional(), key: filePath.optional() }).optional(),
  }),
});

/** The inventory document, `cluster.yaml`. */
export const ClusterSchema = z.strictObject({
  apiVersion: z.literal('hoist/v1', { error: expecting('"hoist/v1"') }),
  kind: z.literal('Cluster', { error: expecting('"Cluster"') }),
  metadata: z.strictObject({ name: resourceName }),
  spec: z.strictObject({
    nodeStateDir: absolutePath.default(DEFAULTS.nodeStateDir),
    ssh: SshSchema.prefault({}),
    nodes: z.array(NodeSchema, { error: expecting('a list of nodes') }).min(1, { error: 'expected at least one node' }),
    store: StoreSchema.optional(),
  }),
});

/**
 * An intermediate version an image embeds (Gravity's "upgrade via"): its runtime package travels in
 * the image, labelled `purpose: intermediate-upgrade`, so an older cluster can step through it.
 */
export const IntermediateSchema = z.strictObject({
  version,
  upgradeFrom: versionRange.optional(),
  runtime: z.strictObject({ package: runtimeLocator, etcdVersion: version }),
});

const actionName = checkedString('an action name (lowercase letters, digits and "-")', (v) => /^[a-z0-9][a-z0-9-]{0,62}$/.test(v));
const exactlyOne = (a: { run?: unknown; package?: unknown; hook?: unknown }): boolean =>
  (a.package === undefined) === (a.hook === undefined) && (a.run === undefined) !== (a.package === undefined);

/**
 * One per-node action: a command (`run`, a shell string or an argv list) or a hook of a package
 * the node holds (`package` + `hook`), run by the node's agent with a timeout.
 */
export const NodeActionSchema = z
  .strictObject({
    name: actionName,
    run: z
      .union([z.string().min(1), z.array(z.string()).min(1)], { error: expecting('a command string or a list of arguments') })
      .optional(),
    package: runtimeLocator.optional(),
    hook: z
      .string({ error: expecting('a hook name') })
      .min(1)
      .optional(),
    timeoutSeconds: positive.optional(),
  })
  .refine(exactlyOne, { error: 'expected either run (a command) or package and hook (a package hook)' });

/** One boot assessment check: a command the node runs after it boots the new OS. */
const AssessmentCheckSchema = z.strictObject({
  name: actionName,
  run: z.union([z.string().min(1), z.array(z.string()).min(1)], { error: expecting('a command string or a list of arguments') }),
});

/**
 * The host OS image (`spec.os`): a package whose version is the OS release, written into the
 * node's inactive A/B slot by the package's `os-upgrade` hook. The node boots it once on trial;
 * the assessment's checks must pass within the timeout, else the node falls back by itself.
 */
export const OsSchema = z.strictObject({
  package: checkedString('an OS package locator name:version like sandbox-os:2.2.0', isLocator),
  /** How long a node may take to go down and answer again (SSH, agent, new boot id) after its reboot. */
  rebootTimeoutSeconds: positive.default(600),
  assessment: z
    .strictObject({
      timeoutSeconds: positive.default(300),
      checks: z.array(AssessmentCheckSchema, { error: expecting('a list of checks') }).default([]),
    })
    .prefault({}),
});

/** The cluster image manifest, `app.yaml`. */
export const ImageManifestSchema = z.strictObject({
  apiVersion: z.literal('hoist/v1', { error: expecting('"hoist/v1"') }),
  kind: z.literal('ClusterImage', { error: expecting('"ClusterImage"') }),
  metadata: z.strictObject({ name: resourceName, version }),
  spec: z.strictObject({
    upgradeFrom: versionRange.optional(),
    runtime: z.strictObject({ package: runtimeLocator, etcdVersion: version }),
    os: OsSchema.optional(),
    upgradeVia: z.array(IntermediateSchema, { error: expecting('a list of intermediate versions') }).default([]),
    systemApps: z.array(appLocator, { error: expecting('a list of app locators') }).default([]),
    appDependencies: z.array(appLocator, { error: expecting('a list of app locators') }).default([]),
    nodeActions: z
      .strictObject({
        preUpgrade: z.array(NodeActionSchema, { error: expecting('a list of node actions') }).default([]),
        postUpgrade: z.array(NodeActionSchema, { error: expecting('a list of node actions') }).default([]),
      })
      .prefault({}),
    hooks: z
      .strictObject({
        preUpdate: hookPath.optional(),
        postUpdate: hookPath.optional(),
        update: hookPath.optional(),
        rollback: hookPath.optional(),
      })
      .default({}),
    requirements: z
      .strictObject({
        minDiskWriteMBps: positive.optional(),
        maxTimeDriftMs: count.optional(),
        minFreeStateDirBytes: count.optional(),
      })
      .default({}),
  }),
});

/** Installed facts of one node that differ from the installed image. */
const NodeStateSchema = z.strictObject({ runtime: runtimeLocator.optional(), os: version.optional() });

/**
 * The offline cluster state. `cluster` is a path (checked here) or an inline Cluster document
 * (checked by the loader against ClusterSchema so its paths read `cluster.spec…`).
 */
export const ClusterStateSchema = z.strictObject({
  apiVersion: z.literal('hoist/v1', { error: expecting('"hoist/v1"') }),
  kind: z.literal('ClusterState', { error: expecting('"ClusterState"') }),
  cluster: z.union([filePath, z.record(z.string(), z.unknown())], {
    error: expecting('a path to cluster.yaml or an inline Cluster document'),
  }),
  installedImage: filePath,
  leader: nodeName.optional(),
  etcdVersion: version.optional(),
  nodes: z.record(z.string(), NodeStateSchema, { error: expecting('a mapping of node name to facts') }).default({}),
});

/** A validated inventory with defaults applied. */
export type ClusterConfig = z.output<typeof ClusterSchema>;
/** A validated inventory node. */
export type ClusterNode = ClusterConfig['spec']['nodes'][number];
/** Cluster-wide SSH settings after defaults. */
export type SshSettings = ClusterConfig['spec']['ssh'];
/** A bastion (jump host) entry. */
export type BastionSettings = z.output<typeof BastionSchema>;
/** A validated image manifest with defaults applied. */
export type ImageManifest = z.output<typeof ImageManifestSchema>;
/** A validated cluster state document (before `cluster` and `installedImage` are loaded). */
export type ClusterStateDoc = z.output<typeof ClusterStateSchema>;
