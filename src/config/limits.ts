/**
 * Caps on what hoist reads, so that no input can exhaust memory, disk or time. Each has a default
 * far above any real cluster's files; the ones a real user could outgrow can be raised with an
 * environment variable (README, "Input limits").
 */

/** One limit: its default and the variable that overrides it. */
interface Limit {
  env: string;
  fallback: number;
}

const LIMITS = {
  /** Bytes of one YAML input (cluster.yaml, --state, app.yaml, package.yaml). */
  yamlBytes: { env: 'HOIST_MAX_YAML_BYTES', fallback: 4 * 1024 * 1024 },
  /** Nesting depth of a YAML or JSON document. */
  depth: { env: 'HOIST_MAX_DEPTH', fallback: 64 },
  /** Items (keys, values, list and mapping indicators) in one YAML document. */
  yamlNodes: { env: 'HOIST_MAX_YAML_ITEMS', fallback: 100_000 },
  /** Bytes of one store file (plan.json, changelog.ndjson, records). */
  storeBytes: { env: 'HOIST_MAX_STORE_BYTES', fallback: 64 * 1024 * 1024 },
  /** Entries of an image archive. */
  imageEntries: { env: 'HOIST_MAX_IMAGE_ENTRIES', fallback: 10_000 },
  /** Uncompressed bytes of an image archive, all entries together. */
  imageBytes: { env: 'HOIST_MAX_IMAGE_BYTES', fallback: 8 * 1024 ** 3 },
  /** Uncompressed bytes of one image archive entry. */
  imageEntryBytes: { env: 'HOIST_MAX_IMAGE_ENTRY_BYTES', fallback: 4 * 1024 ** 3 },
} satisfies Record<string, Limit>;

export type LimitName = keyof typeof LIMITS;

/** Problems listed under one error; the rest are counted. */
export const MAX_PROBLEMS = 50;

/** Characters of one value or line echoed into an error. */
export const MAX_ECHO = 200;

/** The limit's value: the environment's override when it is a positive whole number, else the default. */
export function limit(name: LimitName, env: NodeJS.ProcessEnv = process.env): number {
  const { env: key, fallback } = LIMITS[name];
  const raw = env[key];
  if (raw === undefined || !/^[1-9]\d*$/.test(raw.trim())) return fallback;
  return Number(raw.trim());
}

/** The environment variable that raises a limit, for hints. */
export function limitVariable(name: LimitName): string {
  return LIMITS[name].env;
}

/** A byte count for messages: 4 MiB, 512 KiB, 10 bytes. */
export function showBytes(n: number): string {
  if (n >= 1024 ** 3) return `${+(n / 1024 ** 3).toFixed(1)} GiB`;
  if (n >= 1024 ** 2) return `${+(n / 1024 ** 2).toFixed(1)} MiB`;
  if (n >= 1024) return `${+(n / 1024).toFixed(1)} KiB`;
  return `${n} bytes`;
}
