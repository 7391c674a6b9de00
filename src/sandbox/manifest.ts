/**
 * The files a sandbox leaves for its users: `sandbox.json` (what was started, so `down` can stop
 * exactly that) and `cluster.yaml` (the inventory hoist commands read). Records are loose objects
 * so that later sandbox parts (runtime service, etcd, Kubernetes API emulator) can add fields.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';
import { z } from 'zod';
import { recordJson, writeFileAtomic } from '../durable-files.js';
import { StateError } from '../errors.js';

/** File name of the sandbox record inside the sandbox dir. */
const SANDBOX_FILE = 'sandbox.json';

const nodeSchema = z.looseObject({
  name: z.string(),
  role: z.enum(['master', 'worker']),
  address: z.string(),
  port: z.number().int(),
  nodeDir: z.string(),
  nodeStateDir: z.string(),
  sshd: z.looseObject({
    pid: z.number().int().positive(),
    config: z.string(),
    hostKey: z.string(),
    pidFile: z.string(),
    logFile: z.string(),
  }),
});

const userSchema = z.looseObject({ name: z.string(), home: z.string(), sudoers: z.string() });

const recordSchema = z.looseObject({
  version: z.literal(1),
  name: z.string(),
  dir: z.string(),
  created: z.string(),
  sshdBinary: z.string(),
  identityFile: z.string(),
  knownHostsFile: z.string(),
  clusterFile: z.string(),
  nodes: z.array(nodeSchema),
  /** The non-root login user the sandbox created, if any. */
  user: userSchema.optional(),
  /** The jump host of the nodes named in `for`, if any. */
  bastion: nodeSchema.extend({ for: z.array(z.string()) }).optional(),
  /** The separate etcd holding the operations (`sandbox up --store etcd`), if any. */
  store: z.looseObject({ dir: z.string(), members: z.array(z.object({ name: z.string(), address: z.string() })) }).optional(),
});

/** What `sandbox.json` holds. */
export type SandboxRecord = z.infer<typeof recordSchema>;
/** One node of `sandbox.json`. */
export type SandboxNodeRecord = z.infer<typeof nodeSchema>;

/** Reads `<dir>/sandbox.json`; undefined when there is none. */
export async function readSandboxRecord(dir: string): Promise<SandboxRecord | undefined> {
  const file = path.join(dir, SANDBOX_FILE);
  let text: string;
  try {
    text = await fs.readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  let parsed: z.ZodSafeParseResult<SandboxRecord>;
  try {
    parsed = recordSchema.safeParse(JSON.parse(text));
  } catch (err) {
    throw corrupt(file, (err as Error).message);
  }
  if (!parsed.success) throw corrupt(file, z.prettifyError(parsed.error).split('\n').join('; '));
  return parsed.data;
}

function corrupt(file: string, why: string): StateError {
  return new StateError('ERR_SANDBOX_RECORD_CORRUPT', `sandbox record ${file} is unreadable: ${why}`, {
    hint: 'stop the sandbox sshd processes by hand (their pids are in the node run/ dirs), then remove the sandbox directory',
  });
}

/** Writes `<dir>/sandbox.json` atomically. */
export async function writeSandboxRecord(record: SandboxRecord): Promise<void> {
  await writeFileAtomic(path.join(record.dir, SANDBOX_FILE), recordJson(record));
}

/** The inventory of the sandbox, in the cluster.yaml format (architecture §1). */
export function renderClusterYaml(record: SandboxRecord): string {
  const doc = new YAML.Document({
    apiVersion: 'hoist/v1',
    kind: 'Cluster',
    metadata: { name: record.name },
    spec: {
      ssh: { user: record.user?.name ?? 'root', port: 22, identityFile: record.identityFile, knownHostsFile: record.knownHostsFile },
      nodes: record.nodes.map((n) => ({
        name: n.name,
        address: n.address,
        role: n.role,
        nodeStateDir: n.nodeStateDir,
        ...(record.bastion?.for.includes(n.name)
          ? { ssh: { bastion: { address: record.bastion.address, port: record.bastion.port } } }
          : {}),
      })),
      ...(record.store ? { store: { etcd: { endpoints: record.store.members.map((m) => `${m.address}:2379`) } } } : {}),
    },
  });
  // One line per node and for the small maps, as people write inventories by hand.
  for (const key of [['metadata'], ['spec', 'ssh']]) {
    const node = doc.getIn(key, true);
    if (YAML.isMap(node)) node.flow = true;
  }
  const nodes = doc.getIn(['spec', 'nodes'], true);
  if (YAML.isSeq(nodes)) for (const item of nodes.items) if (YAML.isMap(item)) item.flow = true;
  return doc.toString({ lineWidth: 0 });
}
