/**
 * Loaders for the three inputs: YAML → strict schema → defaults → cross-field rules. Each file
 * with problems throws one InputError listing all of them; nothing is ever written.
 */
import { stat } from 'node:fs/promises';
import { dirname, extname, join, posix } from 'node:path';
import { InputError } from '../errors.js';
import { isArchivePath, readArchiveManifest } from './archive.js';
import { referencePath, resolveFrom } from './paths.js';
import { check, invalidInput, type Problem, prefixProblems } from './problems.js';
import { clusterRules, imageRules, stateRules } from './rules.js';
import {
  type ClusterConfig,
  ClusterSchema,
  type ClusterStateDoc,
  ClusterStateSchema,
  type ImageManifest,
  ImageManifestSchema,
} from './schema.js';
import { locate, parseYaml, readYaml, type YamlSource } from './yaml-source.js';

const HINT = {
  inventory: 'fix the listed fields of the inventory (cluster.yaml) and run the command again',
  image: 'fix the listed fields of the image manifest (app.yaml) and rebuild the image',
  state: 'fix the listed fields of the cluster state file and run the command again',
};

/** A loaded inventory and the file it came from. */
export interface LoadedInventory {
  file: string;
  config: ClusterConfig;
}

/** Where an image manifest was read from. */
export type ImageSource =
  | { kind: 'directory'; path: string }
  | { kind: 'archive'; path: string; entry: string }
  | { kind: 'manifest'; path: string };

/** A loaded image manifest and its origin; `manifestFile` is how messages name it. */
export interface LoadedImage {
  manifest: ImageManifest;
  source: ImageSource;
  manifestFile: string;
}

/** A loaded offline cluster state with its inventory and installed image resolved. */
export interface LoadedClusterState {
  file: string;
  inventory: LoadedInventory;
  installed: LoadedImage;
  /** Lead master: as written, or the first master. */
  leader: string;
  etcdVersion?: string;
  /** Per-node installed facts that differ from the installed image. */
  nodes: ClusterStateDoc['nodes'];
}

/** Schema, then (only if the schema passed) rules; all problems located in `source`. */
function validate<T>(
  source: YamlSource,
  result: { ok: true; value: T } | { ok: false; problems: Problem[] },
  rules: (value: T) => Problem[],
  hint: string,
): T {
  const problems = result.ok ? rules(result.value) : result.problems;
  if (problems.length > 0) throw invalidInput(source.file, locate(source, problems), hint);
  return (result as { value: T }).value;
}

/** Expands `~` and makes identity/known_hosts paths absolute, relative to `baseDir`. */
function resolveSshPaths(config: ClusterConfig, baseDir: string): ClusterConfig {
  type Paths = { identityFile?: string; knownHostsFile?: string; bastion?: { identityFile?: string } };
  const fix = <T extends Paths | undefined>(ssh: T): T => {
    if (!ssh) return ssh;
    const out: Paths = { ...ssh };
    if (ssh.identityFile) out.identityFile = resolveFrom(baseDir, ssh.identityFile);
    if (ssh.knownHostsFile) out.knownHostsFile = resolveFrom(baseDir, ssh.knownHostsFile);
    if (ssh.bastion?.identityFile) out.bastion = { ...ssh.bastion, identityFile: resolveFrom(baseDir, ssh.bastion.identityFile) };
    return out as T;
  };
  const nodes = config.spec.nodes.map((n) => (n.ssh ? { ...n, ssh: fix(n.ssh) } : n));
  const tls = config.spec.store?.etcd.tls;
  const store = tls && {
    etcd: {
      ...config.spec.store!.etcd,
      tls: {
        ca: resolveFrom(baseDir, tls.ca),
        ...(tls.cert ? { cert: resolveFrom(baseDir, tls.cert) } : {}),
        ...(tls.key ? { key: resolveFrom(baseDir, tls.key) } : {}),
      },
    },
  };
  return { ...config, spec: { ...config.spec, ssh: fix(config.spec.ssh), nodes, ...(store ? { store } : {}) } };
}

/** Loads and validates an inventory (`cluster.yaml`). */
export async function loadInventory(file: string): Promise<LoadedInventory> {
  const source = await readYaml(file, 'inventory', HINT.inventory);
  const config = validate(source, check(ClusterSchema, source.data), clusterRules, HINT.inventory);
  return { file, config: resolveSshPaths(config, dirname(file)) };
}

/** Validates a parsed manifest. */
function manifestFrom(source: YamlSource): ImageManifest {
  return validate(source, check(ImageManifestSchema, source.data), imageRules, HINT.image);
}

/** Validates a manifest given as text; `label` names it in messages (e.g. `node-1:installed/app.yaml`). */
export function manifestFromText(text: string, label: string): ImageManifest {
  return manifestFrom(parseYaml(text, label, HINT.image));
}

/** Loads and validates a bare image manifest (`app.yaml`). */
export async function loadImageManifest(file: string): Promise<ImageManifest> {
  return manifestFrom(await readYaml(file, 'image manifest', HINT.image));
}

/** Hook files the manifest names must exist in the image. */
async function checkHooks(source: YamlSource, manifest: ImageManifest, exists: (rel: string) => Promise<boolean>): Promise<void> {
  const problems: Problem[] = [];
  for (const [hook, path] of Object.entries(manifest.spec.hooks)) {
    if (path !== undefined && !(await exists(posix.normalize(path)))) {
      problems.push({ path: ['spec', 'hooks', hook], message: `file ${path} not found in the image; expected a hook Job manifest` });
    }
  }
  if (problems.length > 0) throw invalidInput(source.file, locate(source, problems), HINT.image);
}

async function isFile(path: string): Promise<boolean> {
  return (await stat(path).catch(() => undefined))?.isFile() ?? false;
}

/** Loads an image from a directory with app.yaml. */
async function loadImageDirectory(dir: string): Promise<LoadedImage> {
  const manifestFile = join(dir, 'app.yaml');
  if (!(await isFile(manifestFile))) {
    throw new InputError('ERR_INPUT_NOT_FOUND', `${dir}: image directory has no app.yaml`, {
      hint: 'pass a cluster image directory (it holds app.yaml) or an archive of one',
    });
  }
  const source = await readYaml(manifestFile, 'image manifest', HINT.image);
  const manifest = manifestFrom(source);
  await checkHooks(source, manifest, (rel) => isFile(join(dir, rel)));
  return { manifest, source: { kind: 'directory', path: dir }, manifestFile };
}

/** Loads an image from a `.tar`/`.tar.gz`/`.tgz` archive, in memory. */
async function loadImageArchive(archive: string): Promise<LoadedImage> {
  const { entry, text, files } = await readArchiveManifest(archive);
  const manifestFile = `${archive}!${entry}`;
  const source = parseYaml(text, manifestFile, HINT.image);
  const manifest = manifestFrom(source);
  await checkHooks(source, manifest, async (rel) => files.has(rel));
  return { manifest, source: { kind: 'archive', path: archive, entry }, manifestFile };
}

/** Options for {@link resolveImageArg}. */
export interface ImageArgOptions {
  /** Accept a bare app.yaml (only planning: `--dry-run` or `--state`). */
  allowBareManifest?: boolean;
}

/** Resolves an IMAGE argument: an image directory, an archive of one, or (if allowed) a bare app.yaml. */
export async function resolveImageArg(arg: string, options: ImageArgOptions = {}): Promise<LoadedImage> {
  const info = await stat(arg).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') {
      throw new InputError('ERR_INPUT_NOT_FOUND', `${arg}: image not found`, {
        hint: 'pass a cluster image directory (with app.yaml) or a .tar/.tar.gz archive of one',
        cause: err,
      });
    }
    throw new InputError('ERR_INPUT_UNREADABLE', `${arg}: cannot read image: ${err.message}`, {
      hint: 'check the file permissions',
      cause: err,
    });
  });
  if (info.isDirectory()) return loadImageDirectory(arg);
  if (isArchivePath(arg)) return loadImageArchive(arg);
  const yaml = ['.yaml', '.yml'].includes(extname(arg).toLowerCase());
  if (yaml && options.allowBareManifest) {
    return { manifest: await loadImageManifest(arg), source: { kind: 'manifest', path: arg }, manifestFile: arg };
  }
  if (yaml) {
    throw new InputError(
      'ERR_INPUT_BARE_MANIFEST',
      `${arg}: a bare manifest cannot be installed; an image directory or archive is needed`,
      {
        hint: 'pass the image directory or its .tar/.tar.gz archive, or plan only with --dry-run or --state',
      },
    );
  }
  throw new InputError('ERR_INPUT_IMAGE_FORMAT', `${arg}: expected an image directory or a .tar/.tar.gz/.tgz archive`, {
    hint: 'pass a cluster image directory (with app.yaml) or a .tar/.tar.gz archive of one',
  });
}

/** Re-raises a missing referenced file with the line of the state field that names it. */
async function referenced<T>(source: YamlSource, field: string, load: () => Promise<T>): Promise<T> {
  try {
    return await load();
  } catch (err) {
    if (!(err instanceof InputError) || err.code !== 'ERR_INPUT_NOT_FOUND') throw err;
    const line = locate(source, [{ path: [field], message: '' }])[0]?.line;
    const where = line === undefined ? source.file : `${source.file}:${line}`;
    throw new InputError(err.code, err.message, {
      hint: `fix ${field} in ${source.file}; relative paths are resolved from the state file's directory`,
      details: [`${where}: ${field}: refers to a missing file`, ...err.details],
      cause: err,
    });
  }
}

/** Validates an inline `cluster:` document; its problems are reported in the state file. */
function inlineCluster(source: YamlSource, value: unknown): Problem[] | LoadedInventory {
  const result = check(ClusterSchema, value);
  if (!result.ok) return prefixProblems(['cluster'], result.problems);
  const problems = clusterRules(result.value);
  if (problems.length > 0) return prefixProblems(['cluster'], problems);
  return { file: source.file, config: resolveSshPaths(result.value, dirname(source.file)) };
}

/** Loads an offline cluster state file with its inventory and installed image. */
export async function loadClusterState(file: string): Promise<LoadedClusterState> {
  const source = await readYaml(file, 'cluster state', HINT.state);
  const baseDir = dirname(file);
  const result = check(ClusterStateSchema, source.data);
  const problems = result.ok ? [] : [...result.problems];
  // An inline inventory is checked even when other state fields are wrong, so one run shows all.
  const raw = (source.data as { cluster?: unknown } | null)?.cluster;
  let inline: LoadedInventory | undefined;
  if (typeof raw === 'object' && raw !== null && !Array.isArray(raw)) {
    const loaded = inlineCluster(source, raw);
    if (Array.isArray(loaded)) problems.push(...loaded);
    else inline = loaded;
  }
  if (!result.ok || problems.length > 0) throw invalidInput(source.file, locate(source, problems), HINT.state);
  const state = result.value;
  const inventory = inline ?? (await referenced(source, 'cluster', () => loadInventory(referencePath(baseDir, state.cluster as string))));
  const installed = await referenced(source, 'installedImage', () =>
    resolveImageArg(referencePath(baseDir, state.installedImage), { allowBareManifest: true }),
  );
  validate(source, { ok: true, value: state }, (doc) => stateRules(doc, inventory.config), HINT.state);
  const firstMaster = inventory.config.spec.nodes.find((n) => n.role === 'master')?.name ?? '';
  return {
    file,
    inventory,
    installed,
    leader: state.leader ?? firstMaster,
    ...(state.etcdVersion === undefined ? {} : { etcdVersion: state.etcdVersion }),
    nodes: state.nodes,
  };
}
